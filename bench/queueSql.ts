// The SQLite queue's own cost per job, without the pool: N no-op jobs claimed and
// finished 250 at a time with the real statements (claimJobs, finishJobs), CPU time per
// job, for schema and pragma variants side by side. What bench/NOTES.md "Queue on
// SQLite" quotes for migration 007 and temp_store.
//
//   npx tsx bench/queueSql.ts
//
// Env: N (10000); VARIANTS (comma-separated, default all): v6 = schema 6 (two triggers
// per status change, jobs_lease) plus 007's column so today's statements run; v7 = this
// build's schema; v7-notrig / v7-nostatus / v7-nofin = v7 without jobs_final_work /
// jobs_status_id / jobs_finished (what each still costs). SAVEPOINT=1 runs each
// claim+finish in BEGIN IMMEDIATE + SAVEPOINT as the commit batcher used to;
// TEMP_STORE=DEFAULT|MEMORY; SYNC (OFF: the CPU, not the fsync); TINY=1 records a
// two-byte result instead of validResult()'s ~500 bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { JobResult } from '../src/contract/resultSchema.js';
import { claimJobs } from '../src/queue/sqlite/claimJobs.js';
import { enqueueJobs } from '../src/queue/sqlite/enqueueJobs.js';
import { finishJobs } from '../src/queue/sqlite/finishJobs.js';
import { MIGRATIONS } from '../src/queue/sqlite/migrations/index.js';
import { validResult } from '../test/helpers/results.js';

const N = Number(process.env.N ?? 10000);
const BATCH = 250;
const RESULT: JobResult = process.env.TINY
  ? ({ error: null } as unknown as JobResult)
  : validResult();
const dir = mkdtempSync(join(tmpdir(), 'runbox-queuesql-'));

function open(variant: string, file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${process.env.SYNC ?? 'OFF'}`);
  db.pragma('secure_delete = ON');
  db.pragma(`temp_store = ${process.env.TEMP_STORE ?? 'MEMORY'}`);
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
  for (const m of MIGRATIONS.filter((m) => m.version <= 6)) db.exec(m.sql);
  if (variant === 'v6') {
    db.exec('ALTER TABLE jobs ADD COLUMN final_work INTEGER NOT NULL DEFAULT 0');
  } else {
    for (const m of MIGRATIONS.filter((m) => m.version > 6)) db.exec(m.sql);
  }
  if (variant.includes('-notrig')) db.exec('DROP TRIGGER jobs_final_work');
  if (variant.includes('-nostatus')) db.exec('DROP INDEX jobs_status_id');
  if (variant.includes('-nofin')) db.exec('DROP INDEX jobs_finished');
  return db;
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

function run(variant: string, round: number): void {
  const db = open(variant, join(dir, `${variant}-${round}.db`));
  const now = Date.now();
  const spec = { runtime: 'shell', command: ['true'] };
  for (let i = 0; i < N; i += 1000) {
    enqueueJobs(
      db,
      Array.from({ length: Math.min(1000, N - i) }, () => ({ spec, maxAttempts: 1 })),
      now,
    );
  }
  let claimUs = 0;
  let finishUs = 0;
  for (let done = 0; done < N; done += BATCH) {
    if (process.env.SAVEPOINT) db.exec('BEGIN IMMEDIATE; SAVEPOINT op');
    let t = process.cpuUsage();
    const jobs = claimJobs(db, { workerId: 'w', limit: BATCH, leaseMs: 30_000, now });
    claimUs += cpuUs(t);
    t = process.cpuUsage();
    finishJobs(
      db,
      jobs.map((j) => ({ id: j.id, token: j.token, result: RESULT, blobs: [] })),
      { now, retry: { baseMs: 1000, capMs: 60_000 }, contractVersion: '1.0.0' },
    );
    finishUs += cpuUs(t);
    if (process.env.SAVEPOINT) db.exec('RELEASE op; COMMIT');
  }
  db.close();
  const us = (v: number) => `${(v / N).toFixed(1)} µs`;
  console.log(
    `${variant.padEnd(12)} claim ${us(claimUs)}  finish ${us(finishUs)}  both ${us(claimUs + finishUs)} a job`,
  );
}

const variants = (process.env.VARIANTS ?? 'v6,v7,v7-notrig,v7-nostatus,v7-nofin').split(',');
try {
  for (let round = 0; round < 3; round++) for (const v of variants) run(v, round);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
