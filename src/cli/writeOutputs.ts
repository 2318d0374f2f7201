import { createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OutputEntry } from '../contract/resultSchema.js';
import { RunboxError } from '../errors/index.js';
import type { BlobStore } from '../storage/BlobStore.js';

/** Writes a job's stored outputs under dir, refusing any path that would escape it. */
export async function writeOutputs(
  store: BlobStore,
  outputs: OutputEntry[],
  dir: string,
): Promise<void> {
  const root = resolve(dir);
  for (const entry of outputs) {
    const target = resolve(root, entry.path);
    const rel = relative(root, target);
    if (rel.startsWith('..') || rel === '' || resolve(root, rel) !== target) {
      throw new RunboxError(
        'Internal',
        `output path ${entry.path} escapes ${dir}; refusing to write it`,
        { field: 'path' },
      );
    }
    await mkdir(dirname(target), { recursive: true });
    if (entry.type === 'symlink') {
      await symlink(entry.link_target ?? '', target).catch(() => undefined);
      continue;
    }
    if (!entry.sha256) continue;
    await pipeline(store.openDecompressed(entry.sha256), createWriteStream(join(target)));
  }
}
