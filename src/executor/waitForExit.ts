import type Docker from 'dockerode';
import type { AbortReason } from './Executor.js';
import { isGoneOrNotRunning, toEngineError } from './engineErrors.js';

/**
 * Why runbox stopped a container before it ended on its own. 'output-limit': its
 * scratch folders passed the output limits, or the data disk its reserve, while it ran.
 */
export type StopReason = 'timeout' | AbortReason | 'lost' | 'output-limit';

export interface WaitOptions {
  /** Epoch ms at which the job's time is up. */
  deadline: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  signal?: AbortSignal | undefined;
}

export interface ExitInfo {
  statusCode: number;
  /** Null when the job ended by itself. */
  stoppedBy: StopReason | null;
}

/**
 * Sends a signal. Returns false when the container had already stopped or is gone
 * (not an error: it ended on its own first).
 */
export async function signalContainer(
  container: Docker.Container,
  signal: string,
): Promise<boolean> {
  try {
    await container.kill({ signal });
    return true;
  } catch (error) {
    if (isGoneOrNotRunning(error)) return false;
    throw toEngineError(error, `sending ${signal}`);
  }
}

export function abortReasonOf(signal: AbortSignal): StopReason {
  const reason: unknown = signal.reason;
  return reason === 'cancel' ||
    reason === 'drain' ||
    reason === 'shutdown' ||
    reason === 'lost' ||
    reason === 'output-limit'
    ? reason
    : 'cancel';
}

/**
 * Waits until the container exits. At the deadline or on abort it sends SIGTERM (the
 * init forwards it to the job), then SIGKILL after the grace. Output written before
 * the kill stays in the log stream and /outputs.
 */
export async function waitForExit(
  container: Docker.Container,
  options: WaitOptions,
): Promise<ExitInfo> {
  const exited: Promise<{ StatusCode?: number }> = container.wait();
  let stoppedBy: StopReason | null = null;
  let terminating: Promise<void> | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  let finished = false;
  const stop = (why: StopReason) => {
    if (terminating || finished) return;
    stoppedBy = why;
    // A job filling the disk gets no grace to write more.
    terminating = signalContainer(container, why === 'output-limit' ? 'SIGKILL' : 'SIGTERM').then(
      (delivered) => {
        // A job that ended before the signal reached it ended on its own.
        if (!delivered) stoppedBy = null;
      },
      () => {},
    );
    graceTimer = setTimeout(() => {
      if (!finished) void signalContainer(container, 'SIGKILL').catch(() => {});
    }, options.graceMs);
  };
  const deadlineTimer = setTimeout(
    () => stop('timeout'),
    Math.max(0, options.deadline - Date.now()),
  );
  const onAbort = () => stop(abortReasonOf(options.signal!));
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await exited;
    finished = true;
    await terminating;
    return { statusCode: result.StatusCode ?? -1, stoppedBy };
  } catch (error) {
    throw toEngineError(error, 'waiting for the container');
  } finally {
    finished = true;
    clearTimeout(deadlineTimer);
    clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
