import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileBlobStore } from '../../src/storage/fs/FileBlobStore.js';
import { blobStoreConformance } from './blobStore.suite.js';

// As `runbox serve` opens it (small batched blobs in packs), and as the S3 store's cache
// does (a file per blob).
for (const packSmallBlobs of [true, false]) {
  blobStoreConformance(packSmallBlobs ? 'fs' : 'fs, no packs', async ({ frameBytes }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'runbox-conformance-blobs-'));
    const store = await createFileBlobStore(
      { dataDir, zstd: { codec: 'auto', level: 3, frameBytes } },
      { packSmallBlobs },
    );
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
}
