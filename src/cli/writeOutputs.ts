import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OutputEntry } from '../contract/resultSchema.js';
import type { BlobStore } from '../storage/BlobStore.js';
import { RunboxError } from '../errors/index.js';
import { Refused, linkInside, openForWrite } from './safeFiles.js';

/**
 * Refuses an -o that can never take the outputs, before any job runs: `runbox run job.sh
 * -o notes.txt` (a file) ran the job, then failed Internal (exit 70) with "EEXIST ...
 * mkdir" and the outputs were only in the database. The nearest existing part of the
 * path must be a folder this process may write in; the rest is made later.
 */
export function checkOutputDir(dir: string): void {
  const fail = (why: string) => {
    throw new RunboxError(
      'UsageError',
      `-o ${dir}: ${why}; name a folder you can write in (made if missing)`,
      { field: 'output-dir' },
    );
  };
  let at = resolve(dir);
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) fail(`${at} exists and is not a folder`);
      break;
    } catch (error) {
      if (error instanceof RunboxError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) throw error;
      at = dirname(at);
    }
  }
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch {
    fail(`${at} is not writable by this user`);
  }
  // access() says yes to root everywhere: /proc/x and /sys/x passed, then the job ran and
  // failed at the folder (EPERM, exit 70) or Node's recursive mkdir spun for ever (/proc
  // answers ENOENT). The first missing part is made and removed again to be sure.
  const missing = resolve(dir)
    .slice(at.length)
    .split('/')
    .find((part) => part !== '');
  if (missing !== undefined) {
    const probe = resolve(at, missing);
    try {
      mkdirSync(probe);
    } catch (error) {
      fail(`cannot make ${probe} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    rmdirSync(probe);
  }
}

/**
 * Makes dir and its missing parents one at a time: Node's recursive mkdir loops for ever
 * on a path the kernel answers ENOENT for however often it is made (under /proc).
 */
export async function makeOutputDir(dir: string): Promise<string> {
  const root = resolve(dir);
  const parts: string[] = [];
  for (let at = root; ; at = dirname(at)) {
    try {
      if ((await stat(at)).isDirectory()) break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
    }
    parts.unshift(at);
  }
  for (const part of parts) {
    await mkdir(part).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
  }
  return root;
}

/**
 * Writes a job's stored outputs under dir (made if missing) and returns what it
 * refused, each with its reason: names with `.`/`..` parts or absolute ones, a link
 * or non-folder already standing in the way, and symlinks whose target leaves dir.
 * Files are written before links, so no file is ever written through a link the job
 * made. See safeFiles.ts for the invariant.
 */
export async function writeOutputs(
  store: BlobStore,
  outputs: OutputEntry[],
  dir: string,
): Promise<Array<{ path: string; reason: string }>> {
  const root = await makeOutputDir(dir);
  const refused: Array<{ path: string; reason: string }> = [];
  const attempt = async (path: string, write: () => Promise<void>) => {
    try {
      await write();
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      refused.push({ path, reason: error.message });
    }
  };
  for (const entry of outputs) {
    if (entry.type !== 'file' || !entry.sha256) continue;
    const sha256 = entry.sha256;
    await attempt(entry.path, async () => {
      // The blob first: a missing one must not leave an empty file behind.
      const source = await store.openDecompressed(sha256);
      const handle = await openForWrite(root, entry.path, 'truncate').catch((error: unknown) => {
        source.destroy();
        throw error;
      });
      await pipeline(source, handle.createWriteStream());
    });
  }
  for (const entry of outputs) {
    if (entry.type !== 'symlink') continue;
    await attempt(entry.path, () => linkInside(root, entry.path, entry.link_target ?? ''));
  }
  return refused;
}
