import { createHash, type Hash } from 'node:crypto';
import type Docker from 'dockerode';
import type { LogStream } from './Executor.js';
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
 * line longer than 16 KiB (`local`) or rewrites invalid UTF-8 (`json-file`); a replay
 * reads the log once more after the container stops (catchUp).
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
  const replay = 'replay' in source;
  const seen = replay ? { stdout: new SeenBytes(), stderr: new SeenBytes() } : null;
  let stopped = false;
  let failure: unknown = null;
  const done = demuxDockerStream(stream as AsyncIterable<Buffer>, (which, chunk) => {
    seen?.[which].add(chunk);
    return logs.write(which, chunk);
  }).catch((error: unknown) => {
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
      if (seen) await catchUp(container, logs, seen);
    },
  };
}

/** How many bytes of one stream a replay's follow delivered, and their hash. */
class SeenBytes {
  bytes = 0;
  private readonly hash = createHash('sha256');
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}

/**
 * The engine logs a stream's bytes after its last newline only when the stream ends,
 * and on Docker 20.10 (local driver) a follow ends before that last entry is readable:
 * a re-attached job lost its output after the last newline, a whole stream when it
 * wrote none. Once the container has stopped, the whole log is read again without
 * follow and each stream's bytes past what the follow delivered are added, provided
 * the bytes before them are the ones delivered (the engine may have rotated its log
 * since the follow began; then nothing is added rather than bytes out of place).
 */
async function catchUp(
  container: Docker.Container,
  logs: JobLogs,
  seen: Record<LogStream, SeenBytes>,
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    // A follow of a stopped container reads its whole log, then ends; without follow
    // dockerode would hold all of it (up to ENGINE_LOG_CONFIG's 32 MiB) in memory.
    stream = await container.logs({ follow: true, stdout: true, stderr: true });
  } catch (error) {
    throw toEngineError(error, 'reading the logs');
  }
  const again = {
    stdout: { bytes: 0, hash: createHash('sha256') as Hash | null, same: false },
    stderr: { bytes: 0, hash: createHash('sha256') as Hash | null, same: false },
  };
  try {
    await demuxDockerStream(stream as AsyncIterable<Buffer>, async (which, chunk) => {
      const mine = again[which];
      const want = seen[which].bytes;
      let rest = chunk;
      if (mine.hash) {
        const head = rest.subarray(0, want - mine.bytes);
        mine.hash.update(head);
        mine.bytes += head.length;
        rest = rest.subarray(head.length);
        if (mine.bytes === want) {
          mine.same = mine.hash.digest('hex') === seen[which].digest();
          mine.hash = null;
        }
      }
      if (mine.same && rest.length > 0) await logs.write(which, rest);
    });
  } catch (error) {
    throw toEngineError(error, 'reading the logs');
  }
}
