import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileBlobStore } from '../../src/storage/fs/FileBlobStore.js';
import { blobStoreConformance } from './blobStore.suite.js';

blobStoreConformance('fs', async ({ frameBytes }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-conformance-blobs-'));
  const store = await createFileBlobStore({
    dataDir,
    zstd: { codec: 'auto', level: 3, frameBytes },
  });
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
