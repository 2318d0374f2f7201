import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/queue/sqlite/migrations/index.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';

// Migration 008 copies the webhook tables into AUTOINCREMENT ones: every delivery and
// attempt must survive with its id, the cascade from jobs must still hold, the trigger
// must still write deliveries, and an id once given must never be given again.

const dir = mkdtempSync(join(tmpdir(), 'runbox-migration008-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const HOOK = 'https://hooks.example.com/ünï';

function job(db: Database.Database, id: string, status: string): void {
  db.prepare(
    `INSERT INTO jobs (id, queue, spec, status, priority, attempts, max_attempts, retry_on_exit_codes,
                       run_at, created_at, updated_at, final_work)
     VALUES (?, 'default', ?, 'queued', 0, 0, 3, '[]', ?, ?, ?, 1)`,
  ).run(id, JSON.stringify({ runtime: 'shell', command: ['true'], webhook_url: HOOK }), T0, T0, T0);
  db.prepare(
    'UPDATE jobs SET status = ?, finished_at = ?, updated_at = ?, final_work = final_work WHERE id = ?',
  ).run(status, T0 + 1, T0 + 1, id);
}

describe('migration 008', () => {
  it('keeps every delivery and attempt, and never hands out a deleted delivery id again', () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    old.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    for (const m of MIGRATIONS.filter((m) => m.version <= 7)) old.exec(m.sql);
    old.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '7')").run();
    job(old, '01JA', 'succeeded');
    job(old, '01JB', 'failed');
    const insertAttempt = old.prepare('INSERT INTO webhook_attempts VALUES (?, ?, ?, 12, 500, ?)');
    insertAttempt.run(1, 1, T0 + 2, 'receiver answered 500');
    insertAttempt.run(1, 2, T0 + 3, 'receiver answered 500');
    insertAttempt.run(2, 1, T0 + 4, null);
    const deliveries = old.prepare('SELECT * FROM webhook_deliveries ORDER BY id').all();
    const attempts = old.prepare('SELECT * FROM webhook_attempts ORDER BY 1, 2').all();
    expect(deliveries).toHaveLength(2);
    old.close();

    const { db, applied } = openDatabase(path);
    try {
      expect(applied).toEqual(MIGRATIONS.filter((m) => m.version >= 8).map((m) => m.version));
      expect(db.prepare('SELECT * FROM webhook_deliveries ORDER BY id').all()).toEqual(deliveries);
      expect(db.prepare('SELECT * FROM webhook_attempts ORDER BY 1, 2').all()).toEqual(attempts);
      expect(db.pragma('foreign_key_check')).toEqual([]);

      // The newest delivery goes with its job (retention), attempts too.
      db.prepare("DELETE FROM jobs WHERE id = '01JB'").run();
      expect(db.prepare('SELECT count(*) AS n FROM webhook_attempts').get()).toEqual({ n: 2 });
      job(db, '01JC', 'cancelled');
      expect(
        db.prepare("SELECT id, event FROM webhook_deliveries WHERE job_id = '01JC'").get(),
      ).toEqual({ id: 3, event: 'job.cancelled' });
    } finally {
      db.close();
    }
  });
});
