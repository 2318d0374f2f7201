import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expectNoLeftoverContainers } from './leftovers.js';
import type { PostgresQueueConfig } from '../../src/queue/postgres/PostgresQueue.js';

/** Queue settings for tests that drive PostgresQueue directly: leases and retries long enough not to fire on their own. */
export const PG_QUEUE_CONFIG: PostgresQueueConfig = {
  lease: { heartbeatMs: 5000, expiryMs: 30_000 },
  retry: { baseMs: 1000, capMs: 60_000 },
  workerDeadMs: 30_000,
  workerRetentionMs: 86_400_000,
  jobRetentionMs: 0,
};

/**
 * The private PostgreSQL that scripts/test-postgres starts (its URL: RUNBOX_TEST_PG_URL,
 * else the file the script writes). Like the Docker engine, it is required: a missing
 * server fails the test file with the command that fixes it, under CI=true and
 * elsewhere, never a skip.
 */
export function testPgServerUrl(): string {
  const fromEnv = process.env.RUNBOX_TEST_PG_URL;
  if (fromEnv) return fromEnv;
  const dir = process.env.RUNBOX_TEST_PG_DIR ?? '/var/tmp/runbox-test-pg';
  const file = `${dir}/url`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(
    `No test PostgreSQL (${file} is missing and RUNBOX_TEST_PG_URL is unset). ` +
      "Run 'bash scripts/test-postgres' first" +
      (process.env.CI === 'true' ? ' (CI=true: these tests never skip).' : '.'),
  );
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database (ending any session still on it). */
  drop: () => Promise<void>;
}

/**
 * A fresh database on the test server, one per test file or test: nothing of another
 * test (or another worktree sharing the server) is visible in it.
 */
export async function freshDatabase(prefix = 'runbox_test'): Promise<TestDatabase> {
  const serverUrl = testPgServerUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `The test PostgreSQL at ${serverUrl} does not answer (${(error as Error).message}). ` +
        "Run 'bash scripts/test-postgres'.",
      { cause: error },
    );
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** One-off SQL against a test database (to look at rows, or to play a clock). */
export async function sqlOn<Row = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** The id the runbox nodes on this database label their containers with (migration 002). */
export async function databaseIdOn(url: string): Promise<string | null> {
  const [row] = await sqlOn<{ value: string }>(
    url,
    "SELECT value FROM runbox.meta WHERE key = 'database_id'",
  );
  return row?.value ?? null;
}

/**
 * For the afterAll of a file whose nodes share `db`, once they have stopped: fails if they
 * left a labelled container (and removes them), and drops the database either way.
 */
export async function dropCheckingLeftovers(db: TestDatabase): Promise<void> {
  try {
    const id = await databaseIdOn(db.url);
    if (id) await expectNoLeftoverContainers({ database: id });
  } finally {
    await db.drop();
  }
}
