import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OutputEntry } from '../contract/resultSchema.js';
import type { BlobStore } from '../storage/BlobStore.js';
import { Refused, linkInside, openForWrite } from './safeFiles.js';

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
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
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
