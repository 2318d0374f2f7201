import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { drained } from '../drained.js';
import type { LogStream } from './Executor.js';
import { headFileName } from './logCapture.js';
import { parseScratchName, scratchRoot } from './scratchDir.js';

const POLL_MS = 100;
const READ_BYTES = 64 * 1024;

/**
 * Where a running attempt's output can be read live, by any process on this host that
 * shares the data dir: the executor writes each stream's head, byte for byte, to a
 * file in the attempt's scratch folder (LogCapture) as it arrives. So `logs -f` follows
 * a job whichever process runs it (serve's own pool, or a separate `runbox worker`),
 * from its first byte, without asking the engine (whose log copy is not exact).
 */
export interface RunningLogs {
  /** The live file of one stream of one attempt, or null while it has none. */
  find(jobId: string, attempt: number, stream: LogStream): Promise<string | null>;
}

export function runningLogsOf(dataDir: string): RunningLogs {
  return {
    async find(jobId, attempt, stream) {
      let names: string[];
      try {
        names = await readdir(scratchRoot(dataDir));
      } catch {
        return null;
      }
      const folders = names.filter((name) => {
        const parsed = parseScratchName(name);
        return parsed?.jobId === jobId && parsed.attempt === attempt;
      });
      // The newest re-attach's file, when the attempt was re-attached: the stored log is
      // made from that replay, which is not the fresh run's bytes (the engine's copy
      // drops the newline ending a line over 16 KiB), and a follower moves on to the
      // stored log at the offset it reached here. Until the replay has written any of
      // this stream, there is nothing to follow yet.
      const reattached = folders.filter((name) => name.startsWith('reattach-'));
      if (reattached.length > 0) {
        const dated = await Promise.all(
          reattached.map(async (folder) => {
            const path = join(scratchRoot(dataDir), folder, headFileName(stream));
            const mtime = await stat(path).then(
              (s) => s.mtimeMs,
              () => null,
            );
            return { path, mtime };
          }),
        );
        const present = dated.filter((d): d is { path: string; mtime: number } => d.mtime !== null);
        present.sort((a, b) => b.mtime - a.mtime);
        return present[0]?.path ?? null;
      }
      for (const folder of folders) {
        const path = join(scratchRoot(dataDir), folder, headFileName(stream));
        const handle = await open(path, 'r').catch(() => null);
        if (handle) {
          await handle.close();
          return path;
        }
      }
      return null;
    },
  };
}

/**
 * Copies a growing file to `out` from byte `from`, waiting at its end while `more()`
 * says the writer may still add to it. The file may be removed meanwhile: what was
 * opened stays readable. Resolves with the bytes copied.
 */
export async function tailFile(
  path: string,
  from: number,
  out: Writable,
  more: () => boolean | Promise<boolean>,
): Promise<number> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return 0;
  let position = from;
  try {
    const buffer = Buffer.alloc(READ_BYTES);
    let last = false;
    while (!out.destroyed) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
      if (bytesRead > 0) {
        position += bytesRead;
        // A copy: the buffer is reused for the next read.
        if (!out.write(Buffer.from(buffer.subarray(0, bytesRead)))) await drained(out);
        continue;
      }
      if (last) break;
      // Once the writer is done, read to the end once more: it may have written
      // between the last read and the check.
      if (!(await more())) last = true;
      else await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await handle.close();
  }
  return position - from;
}
