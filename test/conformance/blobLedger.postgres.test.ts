import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONDEMN_SQL } from '../../src/queue/postgres/blobLedger/condemnBlobs.js';
import { PgBlobLedger } from '../../src/queue/postgres/blobLedger/PgBlobLedger.js';
import { TOUCH_SQL } from '../../src/queue/postgres/blobLedger/touchBlobs.js';
import { query } from '../../src/queue/postgres/db.js';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import { freshDatabase, type TestDatabase } from '../helpers/postgres.js';
import { blobLedgerConformance } from './blobLedger.suite.js';
import { PG_LATEST_SCHEMA_VERSION } from '../../src/queue/postgres/migrations/index.js';

// The same suite as SQLite's, against the private test PostgreSQL (scripts/test-postgres):
// a fresh database per harness, each connectAgain() a second node's pool on it.
blobLedgerConformance('PostgreSQL', async (settings) => {
  const db = await freshDatabase('runbox_ledger');
  const queue = await PostgresQueue.open(db.url, settings);
  const opened = [queue];
  return {
    queue,
    ledger: new PgBlobLedger(queue.pool),
    async connectAgain() {
      const again = await PostgresQueue.open(db.url, settings);
      opened.push(again);
      return new PgBlobLedger(again.pool);
    },
    async refer(jobId, sha256) {
      await queue.pool.query('INSERT INTO job_blobs (job_id, sha256) VALUES ($1, $2)', [
        jobId,
        sha256,
      ]);
    },
    async age(sha256s, ms) {
      await queue.pool.query(
        `UPDATE blobs SET last_referenced_at = last_referenced_at - $1 * interval '1 millisecond'
         WHERE sha256 = ANY($2::text[])`,
        [ms, [...sha256s]],
      );
    },
    async dispose() {
      for (const q of opened) await q.close();
      await db.drop();
    },
  };
});

// The race, step by step: one node's transaction held open at the moment that matters.
describe('PostgreSQL blob ledger: row locks order gc and puts', () => {
  let db: TestDatabase;
  let queue: PostgresQueue;
  let other: PostgresQueue;
  const HOUR = 3600_000;
  const sha = () => randomBytes(32).toString('hex');
  const settings = {
    lease: { heartbeatMs: 5_000, expiryMs: 60_000 },
    retry: { baseMs: 1_000, capMs: 60_000 },
    commitWindowMs: 2,
    workerDeadMs: 60_000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 7 * 24 * 3600 * 1000,
  };

  beforeAll(async () => {
    db = await freshDatabase('runbox_ledger_locks');
    queue = await PostgresQueue.open(db.url, settings);
    other = await PostgresQueue.open(db.url, settings);
  });
  afterAll(async () => {
    await other?.close();
    await queue?.close();
    await db?.drop();
  });

  async function idleBlob(): Promise<string> {
    const blob = sha();
    await new PgBlobLedger(queue.pool).touch([blob]);
    await queue.pool.query(
      `UPDATE blobs SET last_referenced_at = now() - interval '2 hours' WHERE sha256 = $1`,
      [blob],
    );
    return blob;
  }

  /** Runs sql in a transaction on a client of its own and leaves it open. */
  async function openTransaction(sql: string, params: Record<string, unknown>) {
    const client = await queue.pool.connect();
    await client.query('BEGIN');
    const rows = await query<{ sha256: string }>(client, sql, params);
    return {
      rows,
      async commit() {
        await client.query('COMMIT');
        client.release();
      },
    };
  }

  it('a put touching a blob while gc condemns it waits for gc to commit, then waits out the deadline', async () => {
    const blob = await idleBlob();
    const gc = await openTransaction(CONDEMN_SQL, {
      graceMs: HOUR,
      deleteWithinMs: 30_000,
      limit: 10,
      only: [blob],
    });
    expect(gc.rows.map((r) => r.sha256)).toEqual([blob]);
    let settled = false;
    const touch = new PgBlobLedger(other.pool).touch([blob]).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // blocked on gc's row lock, not answering from before it
    await gc.commit();
    expect((await touch).get(blob)).toBeGreaterThan(25_000);
  });

  it('migration 003 gives every blob a job refers to a row, so gc can collect it once the job is gone', async () => {
    // A database as runbox with PostgreSQL schema 2 left it: jobs referring to blobs, no ledger.
    const old = await freshDatabase('runbox_ledger_upgrade');
    try {
      const first = await PostgresQueue.open(old.url, settings, { listen: false });
      const [outcome] = await first.submit([
        { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 },
      ]);
      const blob = sha();
      await first.pool.query('INSERT INTO job_blobs (job_id, sha256) VALUES ($1, $2)', [
        outcome!.job.id,
        blob,
      ]);
      await first.pool.query(
        "DROP TABLE blobs; UPDATE meta SET value = '2' WHERE key = 'schema_version'",
      );
      await first.close();
      const upgraded = await PostgresQueue.open(old.url, settings, { listen: false });
      try {
        const rows = await upgraded.pool.query('SELECT sha256 FROM blobs');
        expect(rows.rows).toEqual([{ sha256: blob }]);
        const version = await upgraded.pool.query(
          "SELECT value FROM meta WHERE key = 'schema_version'",
        );
        expect(version.rows[0].value).toBe(String(PG_LATEST_SCHEMA_VERSION));
        await upgraded.pool.query('DELETE FROM jobs');
        await upgraded.pool.query(
          "UPDATE blobs SET last_referenced_at = now() - interval '2 hours'",
        );
        const gc = new PgBlobLedger(upgraded.pool);
        expect(await gc.condemn({ graceMs: HOUR, deleteWithinMs: 30_000, limit: 10 })).toEqual([
          blob,
        ]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await old.drop();
    }
  });

  it('gc skips a blob a put is touching, and does not condemn it once the put commits', async () => {
    const blob = await idleBlob();
    const put = await openTransaction(TOUCH_SQL, { shas: [blob] });
    const gc = new PgBlobLedger(other.pool);
    const opts = { graceMs: HOUR, deleteWithinMs: 30_000, limit: 10, only: [blob] };
    expect(await gc.condemn(opts)).toEqual([]); // SKIP LOCKED: no wait, no condemnation
    await put.commit();
    expect(await gc.condemn(opts)).toEqual([]); // fresh now
  });
});
