import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import migration005 from '../../src/queue/sqlite/migrations/005_blobs.js';
import { SqliteBlobLedger } from '../../src/queue/sqlite/blobLedger/SqliteBlobLedger.js';
import { createS3BlobStore } from '../../src/storage/s3/createS3BlobStore.js';
import { freshBucket, testS3, testS3Client } from '../helpers/s3Server.js';
import { blobStoreConformance } from './blobStore.suite.js';

// Each store: a fresh bucket on the tests' S3 server (scripts/test-s3; a missing server
// fails), a fresh data dir for its cache, and the blobs table (SQLite migration 005)
// in an in-memory database, which is what lets removeIfIdle delete at all.
blobStoreConformance('s3', async ({ frameBytes }) => {
  const client = testS3Client();
  const { bucket, remove } = await freshBucket(client);
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-conformance-s3-'));
  const db = new Database(':memory:');
  db.exec(
    'CREATE TABLE job_blobs (job_id TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (job_id, sha256)) STRICT, WITHOUT ROWID;',
  );
  db.exec(migration005);
  const { endpoint, credentials } = testS3();
  const store = await createS3BlobStore(
    {
      blobs: { kind: 's3', bucket, endpoint },
      credentials,
      ledger: new SqliteBlobLedger(db),
    },
    { dataDir, zstd: { codec: 'auto', level: 3, frameBytes } },
  );
  return {
    store,
    async dispose() {
      await store.close();
      await remove();
      client.destroy();
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
