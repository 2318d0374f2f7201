import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cancelJob } from '../../src/queue/sqlite/cancelJob.js';
import { claimJobs } from '../../src/queue/sqlite/claimJobs.js';
import type { Db } from '../../src/queue/sqlite/db.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { finishJobs } from '../../src/queue/sqlite/finishJobs.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { failOrphanedReservations } from '../../src/queue/sqlite/reservations.js';
import { releaseJobs, requeueExpired, requeueOwnedBy } from '../../src/queue/sqlite/requeueJobs.js';
import { failureResult } from '../../src/contract/failureResult.js';
import { RunboxError } from '../../src/errors/index.js';
import { validResult } from '../helpers/results.js';

// Migration 009 compiles the final-work trigger (secret scrub, webhook delivery) only
// into statements that name final_work. Every way a job can end must still scrub its
// secrets and deliver its webhook exactly once, and the one statement left without the
// trigger (a success) must never take a job that has final work.

const dir = mkdtempSync(join(tmpdir(), 'runbox-migration009-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOK = 'https://hooks.example.com/fïnal';
const WORK = {
  runtime: 'shell',
  command: ['env'],
  env: { TOKEN: 's3cr3t-välue ✓', KEEP: 'visible' },
  secret_env: ['TOKEN'],
  webhook_url: HOOK,
};
const PLAIN = { runtime: 'shell', command: ['true'], env: { TOKEN: 'not secret' } };
const RETRY = { baseMs: 1000, capMs: 60_000 };

function deliveries(db: Db, id: string): string[] {
  return (
    db
      .prepare('SELECT event FROM webhook_deliveries WHERE job_id = ? ORDER BY id')
      .all(id) as Array<{ event: string }>
  ).map((r) => r.event);
}

function env(db: Db, id: string): unknown {
  const row = db.prepare('SELECT spec FROM jobs WHERE id = ?').get(id) as { spec: string };
  return (JSON.parse(row.spec) as { env: unknown }).env;
}

function status(db: Db, id: string): string {
  return (db.prepare('SELECT status FROM jobs WHERE id = ?').get(id) as { status: string }).status;
}

/** Records the text of every statement prepared on db. */
function recordStatements(db: Db): Set<string> {
  const texts = new Set<string>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((text: string) => {
    texts.add(text);
    return prepare(text);
  }) as Db['prepare'];
  return texts;
}

/** The value a statement's SET gives status, or null when it sets none. */
function statusSet(text: string): string | null {
  const set = /\bSET\b([\s\S]*?)(\bWHERE\b|\bRETURNING\b|$)/i.exec(text)?.[1] ?? '';
  const match = /(?:^|[\s,])status\s*=\s*(CASE[\s\S]*?END|'[a-z]+'|:\w+)/i.exec(set);
  return match?.[1] ?? null;
}

/** Whether SQLite compiled a trigger program into the statement. */
function runsTrigger(db: Db, text: string): boolean {
  const names = [...new Set([...text.matchAll(/:(\w+)/g)].map((m) => m[1]!))];
  const program = db
    .prepare(`EXPLAIN ${text}`)
    .all(Object.fromEntries(names.map((n) => [n, null]))) as Array<{ opcode: string }>;
  return program.some((op) => op.opcode === 'Program');
}

describe('migration 009: the final-work trigger only where it is named', () => {
  it('scrubs and delivers once on every path that ends a job, and the success statement without it never takes a job with final work', () => {
    const { db } = openDatabase(join(dir, 'paths.db'));
    const prepared = recordStatements(db);
    try {
      const now = 1_700_000_000_000;
      const enqueue = (spec: object, extra: object = {}) =>
        enqueueJobs(db, [{ spec, maxAttempts: 1, ...extra }], now)[0]!.job.id;
      const claim = (workerId: string) =>
        claimJobs(db, { workerId, limit: 10, leaseMs: 1000, now });

      // Each path, one job with final work and one without, claimed by its own worker.
      const ended: Record<string, { work: string; plain: string; want: string }> = {};
      const run = (path: string, want: string, end: (jobs: ReturnType<typeof claim>) => void) => {
        const work = enqueue(WORK);
        const plain = enqueue(PLAIN);
        const jobs = claim(`w-${path}`);
        expect(jobs.map((j) => j.id).sort()).toEqual([work, plain].sort());
        end(jobs);
        ended[path] = { work, plain, want };
      };
      const opts = { now, retry: RETRY, contractVersion: '1.0.0' };
      run('success', 'succeeded', (jobs) =>
        expect(
          finishJobs(
            db,
            jobs.map((j) => ({ id: j.id, token: j.token, result: validResult() })),
            opts,
          ),
        ).toEqual(['recorded', 'recorded']),
      );
      run('failure', 'failed', (jobs) =>
        finishJobs(
          db,
          jobs.map((j) => ({
            id: j.id,
            token: j.token,
            result: failureResult(new RunboxError('Internal', 'the executor broke')),
          })),
          opts,
        ),
      );
      run('lease expired', 'failed', () => requeueExpired(db, now + 60_000, RETRY));
      run('worker lost', 'failed', () => requeueOwnedBy(db, 'w-worker lost', 'lost', now, RETRY));
      run('cancel, then drained', 'cancelled', (jobs) => {
        for (const j of jobs) cancelJob(db, j.id, now);
        requeueOwnedBy(db, 'w-cancel, then drained', 'drain', now, RETRY);
      });
      run('cancel, then released', 'cancelled', (jobs) => {
        for (const j of jobs) cancelJob(db, j.id, now);
        releaseJobs(
          db,
          jobs.map((j) => ({ id: j.id, token: j.token })),
          'given back',
          now,
        );
      });
      // Queued paths: a cancel, and a reservation whose process is gone.
      const cancelled = { work: enqueue(WORK), plain: enqueue(PLAIN), want: 'cancelled' };
      cancelJob(db, cancelled.work, now);
      cancelJob(db, cancelled.plain, now);
      ended['cancel while queued'] = cancelled;
      const orphaned = {
        work: enqueue(WORK, { reservedFor: 'gone-worker' }),
        plain: enqueue(PLAIN, { reservedFor: 'gone-worker' }),
        want: 'failed',
      };
      expect(failOrphanedReservations(db, now, 30_000).sort()).toEqual(
        [orphaned.work, orphaned.plain].sort(),
      );
      ended['reservation orphaned'] = orphaned;

      for (const [path, { work, plain, want }] of Object.entries(ended)) {
        expect([path, status(db, work), status(db, plain)]).toEqual([path, want, want]);
        expect([path, deliveries(db, work)]).toEqual([path, [`job.${want}`]]);
        expect([path, env(db, work)]).toEqual([path, { TOKEN: '[secret]', KEEP: 'visible' }]);
        expect([path, deliveries(db, plain)]).toEqual([path, []]);
        expect([path, env(db, plain)]).toEqual([path, { TOKEN: 'not secret' }]);
      }
      // A final job touched again by any of them gets no second delivery.
      cancelJob(db, ended.success!.work, now);
      expect(deliveries(db, ended.success!.work)).toEqual(['job.succeeded']);

      // Every statement that ran and gives status a final value either runs the trigger
      // or takes only rows without final work.
      const ending = [...prepared].filter((text) => {
        const value = statusSet(text);
        return (
          /^\s*UPDATE\s+jobs\b/i.test(text) && value !== null && !/^'(queued|running)'$/.test(value)
        );
      });
      expect(ending.length).toBeGreaterThanOrEqual(7);
      for (const text of ending) {
        const exempt = /\bWHERE\b[\s\S]*\bfinal_work\s*=\s*0\b/i.test(text);
        expect([text, runsTrigger(db, text) || exempt]).toEqual([text, true]);
      }
      expect(ending.filter((text) => !runsTrigger(db, text))).toHaveLength(1);
    } finally {
      db.close();
    }
  });

  it('is declared on final_work, not status', () => {
    const { db } = openDatabase(join(dir, 'schema.db'));
    try {
      const { sql } = db
        .prepare(
          "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'jobs_final_work'",
        )
        .get() as { sql: string };
      expect(sql).toMatch(/AFTER UPDATE OF final_work ON jobs/);
    } finally {
      db.close();
    }
  });
});
