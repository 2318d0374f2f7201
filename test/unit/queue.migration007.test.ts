import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { cancelJob } from '../../src/queue/sqlite/cancelJob.js';
import { claimJobs } from '../../src/queue/sqlite/claimJobs.js';
import type { Db } from '../../src/queue/sqlite/db.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { finishJobs } from '../../src/queue/sqlite/finishJobs.js';
import { MIGRATIONS } from '../../src/queue/sqlite/migrations/index.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { countByStatus, getJob, listJobs } from '../../src/queue/sqlite/readJobs.js';
import { requeueExpired } from '../../src/queue/sqlite/requeueJobs.js';
import { deleteFinishedBefore } from '../../src/queue/sqlite/retention.js';
import { validResult } from '../helpers/results.js';

// Migration 007 (one flagged trigger instead of two, jobs_lease dropped) must upgrade a
// database holding jobs in every state without losing or changing any of them, and the
// upgraded database must then behave as a fresh one: webhooks delivered and secrets
// scrubbed for jobs that end after the upgrade, expired leases still reaped.

const dir = mkdtempSync(join(tmpdir(), 'runbox-migration007-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const RESULT = JSON.stringify({ ...validResult(), stdout_tail: 'dønë ✓' });
const HOOK = 'https://hooks.example.com/ünï';
const specs = {
  plain: { runtime: 'shell', command: ['true'] },
  hook: { runtime: 'shell', command: ['true'], webhook_url: HOOK },
  secret: {
    runtime: 'shell',
    command: ['env'],
    env: { TOKEN: 's3cr3t-välue', KEEP: 'visible' },
    secret_env: ['TOKEN'],
  },
  both: {
    runtime: 'shell',
    command: ['env'],
    env: { TOKEN: 'other-s3cr3t' },
    secret_env: ['TOKEN'],
    webhook_url: HOOK,
  },
};
type Kind = keyof typeof specs;

/** A database at schema 6 as the previous build left it, written with that build's SQL. */
function schema6Database(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
  for (const m of MIGRATIONS.filter((m) => m.version <= 6)) db.exec(m.sql);
  db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '6')").run();
  return db;
}

let seq = 0;
/** Inserts a job and moves it through the given states with schema 6's statements. */
function oldJob(db: Db, kind: Kind, path: Array<'running' | 'succeeded' | 'failed' | 'cancelled'>) {
  const id = `01JOLD${String(++seq).padStart(20, '0')}`;
  db.prepare(
    `INSERT INTO jobs (id, queue, spec, status, priority, attempts, max_attempts, retry_on_exit_codes,
                       run_at, created_at, updated_at)
     VALUES (?, 'default', ?, 'queued', 0, 0, 3, '[]', ?, ?, ?)`,
  ).run(id, JSON.stringify(specs[kind]), T0, T0, T0);
  for (const status of path) {
    if (status === 'running') {
      db.prepare(
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, attempt_token = ?,
           lease_owner = 'w-old', lease_expires_at = ?, started_at = ?, updated_at = ? WHERE id = ?`,
      ).run(`tok-${id}`, T0 + 30_000, T0, T0, id);
    } else {
      db.prepare(
        `UPDATE jobs SET status = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL,
           attempt_token = NULL, result = ?, error_type = ?, updated_at = ? WHERE id = ?`,
      ).run(
        status,
        T0 + 1,
        status === 'cancelled' ? null : RESULT,
        status === 'failed' ? 'Exit' : null,
        T0 + 1,
        id,
      );
    }
  }
  return id;
}

const deliveries = (db: Db, id: string) =>
  db.prepare('SELECT url, event FROM webhook_deliveries WHERE job_id = ?').all(id);
const spec = (db: Db, id: string) => getJob(db, id)!.spec as { env?: Record<string, string> };

describe('migration 007', () => {
  it('upgrades a database with jobs in every state, losing nothing, and keeps triggers and reaper working', () => {
    const path = join(dir, 'old.db');
    const old = schema6Database(path);
    const ids: Record<string, string> = {};
    for (const kind of Object.keys(specs) as Kind[]) {
      ids[`${kind}-queued`] = oldJob(old, kind, []);
      ids[`${kind}-running`] = oldJob(old, kind, ['running']);
      ids[`${kind}-succeeded`] = oldJob(old, kind, ['running', 'succeeded']);
      ids[`${kind}-failed`] = oldJob(old, kind, ['running', 'failed']);
      ids[`${kind}-cancelled`] = oldJob(old, kind, ['cancelled']);
    }
    const before = old.prepare('SELECT * FROM jobs ORDER BY id').all();
    const deliveriesBefore = old.prepare('SELECT * FROM webhook_deliveries ORDER BY id').all();
    // Schema 6 already delivered and scrubbed the jobs that ended under it.
    expect(deliveriesBefore).toHaveLength(6);
    expect(spec(old as Db, ids['secret-succeeded']!).env).toEqual({
      TOKEN: '[secret]',
      KEEP: 'visible',
    });
    old.close();

    const { db, applied } = openDatabase(path);
    try {
      // 008 (delivery ids never reused) comes with it and must keep every row too.
      expect(applied).toEqual(MIGRATIONS.filter((m) => m.version >= 7).map((m) => m.version));
      // Every row kept, every column as it was; only the flags are new (011 adds one), and
      // 013's count of attempts given back, none for rows from before it.
      const after = db.prepare('SELECT * FROM jobs ORDER BY id').all() as Array<
        Record<string, unknown>
      >;
      expect(after.map((r) => r.released_attempts)).toEqual(before.map(() => 0));
      expect(
        after.map(({ final_work: _, inputs_apart: __, released_attempts: ___, ...rest }) => rest),
      ).toEqual(before);
      const flagged = Object.fromEntries(after.map((r) => [r.id, r.final_work]));
      for (const [name, id] of Object.entries(ids)) {
        expect(flagged[id], name).toBe(name.startsWith('plain-') ? 0 : 1);
      }
      expect(db.prepare('SELECT * FROM webhook_deliveries ORDER BY id').all()).toEqual(
        deliveriesBefore,
      );
      expect(countByStatus(db)).toEqual({
        queued: 4,
        running: 4,
        succeeded: 4,
        failed: 4,
        cancelled: 4,
      });
      expect(
        listJobs(db, { status: 'failed' })
          .jobs.map((j) => j.id)
          .sort(),
      ).toEqual(
        Object.entries(ids)
          .filter(([n]) => n.endsWith('-failed'))
          .map(([, id]) => id)
          .sort(),
      );
      expect(getJob(db, ids['hook-succeeded']!)!.result).toEqual(JSON.parse(RESULT));

      // Jobs that end after the upgrade: the old running ones finish with their tokens...
      const now = T0 + 10_000;
      const outcomes = finishJobs(
        db,
        (['plain', 'hook', 'secret', 'both'] as Kind[]).map((k) => ({
          id: ids[`${k}-running`]!,
          token: `tok-${ids[`${k}-running`]!}`,
          result: validResult(),
        })),
        { now, retry: { baseMs: 1000, capMs: 60_000 }, contractVersion: '1.0.0' },
      );
      expect(outcomes).toEqual(['recorded', 'recorded', 'recorded', 'recorded']);
      expect(deliveries(db, ids['plain-running']!)).toEqual([]);
      expect(deliveries(db, ids['hook-running']!)).toEqual([{ url: HOOK, event: 'job.succeeded' }]);
      expect(deliveries(db, ids['both-running']!)).toEqual([{ url: HOOK, event: 'job.succeeded' }]);
      expect(spec(db, ids['secret-running']!).env).toEqual({ TOKEN: '[secret]', KEEP: 'visible' });
      expect(spec(db, ids['both-running']!).env).toEqual({ TOKEN: '[secret]' });
      // ...old queued ones are cancelled (a final path other than a result)...
      cancelJob(db, ids['both-queued']!, now);
      expect(deliveries(db, ids['both-queued']!)).toEqual([{ url: HOOK, event: 'job.cancelled' }]);
      expect(spec(db, ids['both-queued']!).env).toEqual({ TOKEN: '[secret]' });
      // ...a final job touched again gets no second delivery.
      db.prepare("UPDATE jobs SET status = 'failed', final_work = final_work WHERE id = ?").run(
        ids['hook-succeeded']!,
      );
      expect(deliveries(db, ids['hook-succeeded']!)).toHaveLength(1);

      // New jobs get the flag at submit from their spec, and behave the same.
      const [plainNew, hookNew] = enqueueJobs(
        db,
        [
          { spec: specs.plain, maxAttempts: 1 },
          { spec: specs.both, maxAttempts: 1, priority: -1 },
        ],
        now,
      );
      const flag = (id: string) =>
        (db.prepare('SELECT final_work FROM jobs WHERE id = ?').get(id) as { final_work: number })
          .final_work;
      expect([flag(plainNew!.job.id), flag(hookNew!.job.id)]).toEqual([0, 1]);

      // The reaper finds expired leases without jobs_lease: claim both new jobs (and the
      // remaining old queued ones), let every lease lapse, and reap.
      const claimed = claimJobs(db, { workerId: 'w-new', limit: 10, leaseMs: 1000, now });
      expect(claimed.map((c) => c.id)).toContain(hookNew!.job.id);
      const reaped = requeueExpired(db, now + 60_000, { baseMs: 1000, capMs: 60_000 });
      expect(reaped.failed).toContain(hookNew!.job.id);
      expect(deliveries(db, hookNew!.job.id)).toEqual([{ url: HOOK, event: 'job.failed' }]);
      expect(spec(db, hookNew!.job.id).env).toEqual({ TOKEN: '[secret]' });
      expect(
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'jobs' ORDER BY name",
          )
          .all(),
      ).not.toContainEqual({ name: 'jobs_lease' });

      // Retention still takes finished jobs, with their deliveries once those have ended.
      db.prepare("UPDATE webhook_deliveries SET status = 'delivered'").run();
      const deleted = deleteFinishedBefore(db, now + 120_000);
      expect(deleted.jobIds.length).toBeGreaterThan(10);
      expect(
        (db.prepare('SELECT count(*) AS n FROM webhook_deliveries').get() as { n: number }).n,
      ).toBe(0);
    } finally {
      db.close();
    }
  });
});
