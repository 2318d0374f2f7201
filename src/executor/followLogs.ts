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
 * Reads the container's stdout/stderr from the beginning and keeps following them.
 * Because it replays from the start, the same call serves a fresh run and a re-attach
 * after a runbox restart. The reader is paced by the sink (a slow disk slows reading,
 * never grows memory); the engine's own log copy is bounded by ENGINE_LOG_CONFIG.
 */
export async function followLogs(container: Docker.Container, logs: JobLogs): Promise<LogFollower> {
  let stream: NodeJS.ReadableStream & { destroy?: () => void };
  try {
    stream = await container.logs({ follow: true, stdout: true, stderr: true });
  } catch (error) {
    throw toEngineError(error, 'following the logs');
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
