import type Docker from 'dockerode';
import type { Config } from '../config.js';
import { RunboxError } from '../errors/index.js';
import { formatBytes } from '../storage/fs/diskSpace.js';
import { engineReason, toEngineError } from './engineErrors.js';

export interface PullLimits {
  /** The whole pull, from the request to the last layer. */
  timeoutMs: number;
  /** Sum of the layer sizes the engine announces; beyond it the pull is abandoned. */
  maxBytes: number;
}

/** The pull limits a config sets. */
export function pullLimitsOf(config: Readonly<Pick<Config, 'pull'>>): PullLimits {
  return { timeoutMs: config.pull.timeoutSeconds * 1000, maxBytes: config.pull.maxBytes };
}

/** One progress event as the engine streams it. */
export interface PullEvent {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

/**
 * Pulls `image` within the limits. The engine announces each layer's size before it
 * downloads it, so the size cap stops a pull before it fills the disk; abandoning the
 * request makes the engine cancel the pull. Every failure is ImageUnavailable naming
 * the image and, for the limits, the config field to raise (EngineUnavailable when the
 * engine itself is gone). `signal` abandons the pull too: a job cancelled while its image
 * downloads must not wait for the whole image (or pull.timeoutSeconds) to end.
 */
export async function pullImage(
  docker: Docker,
  image: string,
  limits: PullLimits,
  onEvent: (event: PullEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<void> {
  const abort = new AbortController();
  let limitError: RunboxError | null = null;
  const stop = (error: RunboxError) => {
    limitError ??= error;
    abort.abort(error);
  };
  const abandon = () =>
    stop(
      new RunboxError('ImageUnavailable', `pulling ${image} was abandoned: its job was stopped`),
    );
  if (signal?.aborted) abandon();
  signal?.addEventListener('abort', abandon, { once: true });
  const timer = setTimeout(
    () =>
      stop(
        new RunboxError(
          'ImageUnavailable',
          `pulling ${image} took longer than ${limits.timeoutMs / 1000} s and was abandoned; raise pull.timeoutSeconds or pull it beforehand (runbox pull)`,
          { field: 'pull.timeoutSeconds' },
        ),
      ),
    limits.timeoutMs,
  );
  try {
    const stream = (await docker.pull(image, {
      abortSignal: abort.signal,
    })) as NodeJS.ReadableStream;
    const layers = new Map<string, number>();
    await new Promise<void>((resolve, reject) => {
      abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: PullEvent) => {
          if (event.error) return reject(new Error(event.error));
          const total = event.progressDetail?.total;
          if (event.id && typeof total === 'number' && total > 0) {
            layers.set(event.id, total);
            const sum = [...layers.values()].reduce((a, b) => a + b, 0);
            if (sum > limits.maxBytes) {
              stop(
                new RunboxError(
                  'ImageUnavailable',
                  `pulling ${image} was abandoned: its layers exceed ${formatBytes(limits.maxBytes)} (pull.maxBytes); raise it or use a smaller image`,
                  { field: 'pull.maxBytes' },
                ),
              );
              return;
            }
          }
          onEvent(event);
        },
      );
    });
  } catch (error) {
    if (limitError) throw limitError;
    const unavailable = toEngineError(error, `pulling ${image}`);
    if (unavailable.type === 'EngineUnavailable') throw unavailable;
    throw new RunboxError(
      'ImageUnavailable',
      `pulling image ${image} failed: ${engineReason(error)}`,
      { field: 'image', cause: error },
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abandon);
  }
}
