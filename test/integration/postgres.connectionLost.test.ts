import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, query, transaction } from '../../src/queue/postgres/db.js';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';

/**
 * Seen on a fleet: PostgreSQL restarted (pg_ctl restart -m fast) while three nodes took
 * submissions, and one `runbox serve` died at once of "Unhandled 'error' event ...
 * Connection terminated unexpectedly". pg-pool takes its error listener off a client
 * while it is lent, so a connection dropped under a transaction emitted an error nobody
 * listened to. These end the backend of a transaction's connection, as a restart does.
 */
describe('a queue connection lost in the middle of a transaction', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await freshDatabase('runbox_pglost');
    pool = createPool(db.url, { max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  async function terminate(pid: number): Promise<void> {
    await sqlOn(db.url, 'SELECT pg_terminate_backend($1)', [pid]);
  }

  it('fails that transaction as StorageUnavailable, when the connection drops between statements, and the process lives on', async () => {
    const outcome = await transaction(pool, async (client) => {
      const [row] = await query<{ pid: number }>(client, 'SELECT pg_backend_pid() AS pid');
      await terminate(row!.pid);
      // The drop arrives while the transaction waits on something else.
      await sleep(300);
      return query(client, 'SELECT 1');
    }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(outcome).toMatchObject({ type: 'StorageUnavailable', field: 'queue.url' });
    const [after] = await query<{ one: number }>(pool, 'SELECT 1 AS one');
    expect(after!.one).toBe(1);
  });

  it('fails that transaction as StorageUnavailable, when the connection drops under a statement, and the next one gets a fresh connection', async () => {
    const outcome = await transaction(pool, async (client) => {
      const [row] = await query<{ pid: number }>(client, 'SELECT pg_backend_pid() AS pid');
      const pid = row!.pid;
      const slow = query(client, 'SELECT pg_sleep(5)').then(
        () => null,
        (error: unknown) => error,
      );
      await sleep(200);
      await terminate(pid);
      throw (await slow) ?? new Error('pg_sleep outlived its connection');
    }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(outcome).toMatchObject({ type: 'StorageUnavailable', field: 'queue.url' });
    const value = await transaction(pool, async (client) => {
      const [row] = await query<{ one: number }>(client, 'SELECT 1 AS one');
      return row!.one;
    });
    expect(value).toBe(1);
  });
});
