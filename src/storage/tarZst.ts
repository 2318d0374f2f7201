import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { OutputEntry } from '../contract/resultSchema.js';
import type { BlobStore } from './BlobStore.js';

/**
 * Every output of a job as one tar stream compressed to zstd frames, built on the fly:
 * each blob is decompressed into the tar packer entry by entry, so memory stays at a
 * frame or two however large the outputs are.
 */
export function createTarZstStream(
  store: BlobStore,
  outputs: readonly OutputEntry[],
  compressor: Transform,
): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  (async () => {
    for (const entry of outputs) {
      if (entry.type === 'symlink') {
        pack.entry({ name: entry.path, type: 'symlink', linkname: entry.link_target ?? '' });
        continue;
      }
      if (!entry.sha256) continue;
      const sink = pack.entry({ name: entry.path, size: entry.size, mode: 0o644 });
      await pipeline(store.openDecompressed(entry.sha256), sink);
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  pipeline(pack, compressor, out).catch((error: unknown) => out.destroy(error as Error));
  return out;
}
