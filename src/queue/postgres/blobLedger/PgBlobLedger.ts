import type pg from 'pg';
import type { BlobLedger, CondemnOptions } from '../../../storage/s3/BlobLedger.js';
import { condemnBlobs, forgetBlobs } from './condemnBlobs.js';
import { touchBlobs } from './touchBlobs.js';

/**
 * The blobs table (migrations/003_blobs.ts) of a PostgreSQL queue database, shared by
 * every node: times are the database's now(), never a node's clock. The same contract
 * as SqliteBlobLedger (test/conformance/blobLedger.suite.ts proves both), where SQLite
 * gets its ordering from BEGIN IMMEDIATE and PostgreSQL from row locks.
 */
export class PgBlobLedger implements BlobLedger {
  constructor(private readonly pool: pg.Pool) {}

  touch(sha256s: readonly string[]): Promise<Map<string, number>> {
    return touchBlobs(this.pool, sha256s);
  }

  condemn(options: CondemnOptions): Promise<string[]> {
    return condemnBlobs(this.pool, options);
  }

  forget(sha256s: readonly string[]): Promise<void> {
    return forgetBlobs(this.pool, sha256s);
  }
}
