import type { BlobLedger, CondemnOptions } from '../../../storage/s3/BlobLedger.js';
import type { Db } from '../db.js';
import { condemnBlobs, forgetBlobs } from './condemnBlobs.js';
import { touchBlobs } from './touchBlobs.js';

/**
 * The blobs table (migrations/005_blobs.ts) of a SQLite queue database. The clock is the
 * host's: a SQLite database has one host. On PostgreSQL the same three statements take
 * now() from the database.
 */
export class SqliteBlobLedger implements BlobLedger {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  touch(sha256s: readonly string[]): Promise<Map<string, number>> {
    return Promise.resolve(touchBlobs(this.db, sha256s, this.now()));
  }

  condemn(options: CondemnOptions): Promise<string[]> {
    return Promise.resolve(condemnBlobs(this.db, { ...options, now: this.now() }));
  }

  forget(sha256s: readonly string[]): Promise<void> {
    forgetBlobs(this.db, sha256s);
    return Promise.resolve();
  }
}
