import type Docker from 'dockerode';
import { demuxDockerStream } from './demux.js';
import { toEngineError } from './engineErrors.js';
import type { JobLogs } from './logCapture.js';

export interface LogFollower {
  /** Resolves once the engine ends the stream (the container stopped) or after `ms`. */
  settle(ms: number): Promise<void>;
  /** Ends reading now. */
  stop(): void;
}

/**
 * How a run's output is read. `attach` (made before the container starts) is the
 * container's stdout/stderr as the job wrote them, byte for byte. `replay` reads the
 * engine's log copy from the beginning, for a re-attach after a runbox restart; it goes
 * through the engine's log driver, which on Docker 20.10 drops the newline ending a
 * line longer than 16 KiB (`local`) or rewrites invalid UTF-8 (`json-file`).
 */
export type LogSource = { attach: AttachedOutput } | { replay: true };

type AttachedOutput = NodeJS.ReadableStream & { destroy?: () => void };

/** Attaches to a created container's stdout/stderr; call before starting it. */
export async function attachOutput(container: Docker.Container): Promise<AttachedOutput> {
  try {
    return (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
    })) as AttachedOutput;
  } catch (error) {
    throw toEngineError(error, 'attaching to the container');
  }
}

/**
 * Follows the container's stdout/stderr into `logs` until the engine ends the stream.
 * The reader is paced by the sink (a slow disk slows reading, never grows memory; on
 * an attach it slows the job's own writes); the engine's own log copy is bounded by
 * ENGINE_LOG_CONFIG.
 */
export async function followLogs(
  container: Docker.Container,
  logs: JobLogs,
  source: LogSource,
): Promise<LogFollower> {
  let stream: AttachedOutput;
  if ('attach' in source) {
    stream = source.attach;
  } else {
    try {
      stream = await container.logs({ follow: true, stdout: true, stderr: true });
    } catch (error) {
      throw toEngineError(error, 'following the logs');
    }
  }
  let stopped = false;
  let failure: unknown = null;
  const done = demuxDockerStream(stream as AsyncIterable<Buffer>, (which, chunk) =>
    logs.write(which, chunk),
  ).catch((error: unknown) => {
    // Destroying the stream on purpose ends iteration with an error; only others count.
    if (!stopped) failure = error;
  });
  const stop = () => {
    stopped = true;
    stream.destroy?.();
  };
  return {
    stop,
    async settle(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      await Promise.race([done, late]);
      clearTimeout(timer);
      stop();
      await done;
      if (failure) throw toEngineError(failure, 'reading the logs');
    },
  };
}
