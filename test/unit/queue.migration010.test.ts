import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/queue/sqlite/migrations/index.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';

// A schema 2 runbox had no scrub: its final jobs kept their secret values, and the
// trigger of migration 3 only scrubs jobs as they become final, so after an upgrade those
// values stayed in plain text until retention deleted the jobs.

const dir = mkdtempSync(join(tmpdir(), 'runbox-migration010-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const SECRET = 'pl4in-välue-✓';

function spec(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    runtime: 'shell',
    command: ['env'],
    env: { TOKEN: SECRET, KEEP: 'visible' },
    secret_env: ['TOKEN'],
    ...extra,
  });
}

/** A file as a schema 2 runbox leaves it, with a job in each state. */
function schema2File(): string {
  const path = join(dir, 'schema2.db');
  const db = new Database(path);
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
  for (const m of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(m.sql);
  db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '2')").run();
  const insert = db.prepare(
    `INSERT INTO jobs (id, spec, status, max_attempts, run_at, created_at, updated_at, finished_at)
     VALUES (?, ?, ?, 3, ?, ?, ?, ?)`,
  );
  for (const [id, status] of [
    ['01SUCCEEDED', 'succeeded'],
    ['01FAILED', 'failed'],
    ['01CANCELLED', 'cancelled'],
    ['01QUEUED', 'queued'],
    ['01RUNNING', 'running'],
  ] as const) {
    const final = status !== 'queued' && status !== 'running';
    insert.run(id, spec(), status, T0, T0, T0, final ? T0 + 1 : null);
  }
  insert.run(
    '01NOSECRET',
    JSON.stringify({ runtime: 'shell', env: { A: 'b' } }),
    'succeeded',
    T0,
    T0,
    T0,
    T0,
  );
  db.close();
  return path;
}

function envOf(db: Database.Database, id: string): unknown {
  const row = db.prepare('SELECT spec FROM jobs WHERE id = ?').get(id) as { spec: string };
  return (JSON.parse(row.spec) as { env: unknown }).env;
}

describe('migration 010: secret values of jobs final before the scrub existed', () => {
  it('are replaced in final jobs, kept in queued and running ones, and gone from the file', () => {
    const path = schema2File();
    const { db } = openDatabase(path);
    try {
      for (const id of ['01SUCCEEDED', '01FAILED', '01CANCELLED']) {
        expect(envOf(db, id)).toEqual({ TOKEN: '[secret]', KEEP: 'visible' });
      }
      for (const id of ['01QUEUED', '01RUNNING']) {
        expect(envOf(db, id)).toEqual({ TOKEN: SECRET, KEEP: 'visible' });
      }
      expect(envOf(db, '01NOSECRET')).toEqual({ A: 'b' });
      db.prepare("DELETE FROM jobs WHERE status IN ('queued', 'running')").run();
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    // secure_delete: the old values are not left in free pages of the file either.
    expect(readFileSync(path).includes(Buffer.from(SECRET))).toBe(false);
  });
});
