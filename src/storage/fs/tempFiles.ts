import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive } from '../../processAlive.js';

/**
 * Temp files are named `<pid>.<process token>.<uuid>.tmp`. The token is random per
 * process, so a new process with a recycled pid (pid 1 in a restarted container) does
 * not mistake a dead process's files for its own.
 */
const PROCESS_TOKEN = randomBytes(6).toString('hex');
const TEMP_NAME = /^(\d+)\.([0-9a-f]+)\.[0-9a-f-]+\.tmp$/;

/** Every temp file this old is stale, whoever wrote it. @defaultValue 24 hours */
export const DEFAULT_TEMP_MAX_AGE_MS = 24 * 3600 * 1000;

export function tempFileName(): string {
  return `${process.pid}.${PROCESS_TOKEN}.${randomUUID()}.tmp`;
}

export interface SweepOptions {
  /** Remove any temp file not written to for this long. @defaultValue 24 hours */
  olderThanMs?: number;
  now?: number;
}

/**
 * Removes temp files left by a crash: those of processes that are gone, and any file
 * untouched for `olderThanMs`. A put in flight (this process, or another live runbox
 * on the same data dir) keeps its file.
 */
export async function sweepTempDir(
  tmpDir: string,
  options: SweepOptions = {},
): Promise<{ removedFiles: number; freedBytes: number }> {
  const maxAge = options.olderThanMs ?? DEFAULT_TEMP_MAX_AGE_MS;
  const now = options.now ?? Date.now();
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { removedFiles: 0, freedBytes: 0 };
    throw error;
  }
  let removedFiles = 0;
  let freedBytes = 0;
  for (const name of names) {
    const path = join(tmpDir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      continue; // finished or removed meanwhile
    }
    if (!info.isFile()) continue;
    const match = TEMP_NAME.exec(name);
    const old = now - info.mtimeMs > maxAge;
    const ownerGone = !match || (match[2] !== PROCESS_TOKEN && !pidAlive(Number(match[1])));
    if (!old && !ownerGone) continue;
    try {
      await unlink(path);
      removedFiles += 1;
      freedBytes += info.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { removedFiles, freedBytes };
}
