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
import { heartbeatJobs } from '../../src/queue/sqlite/heartbeatJobs.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import { getJob, listJobs } from '../../src/queue/sqlite/readJobs.js';
import { adoptJob } from '../../src/queue/sqlite/requeueJobs.js';
import { deleteFinishedBefore } from '../../src/queue/sqlite/retention.js';
import { PREVIOUS_SCHEMA, writePreviousSchemaFile } from '../helpers/previousSchema.js';
import { validResult } from '../helpers/results.js';

// A job's input files were part of its row's spec, which SQLite rewrites whole at every
// claim, heartbeat and finish: 40 MB of --file made `runbox run` take 12 s. They now live
// in job_inputs, written once.

const dir = mkdtempSync(join(tmpdir(), 'runbox-migration011-'));
const opened: Db[] = [];
afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const RETRY = { baseMs: 1000, capMs: 60_000 };
const BIG = Buffer.alloc(3 * 1024 * 1024, 0xfe).toString('base64');
const FILES = [
  { path: 'data/big.bin', content: BIG, encoding: 'base64' },
  { path: 'naïve ☃.txt', content: '日本\n' },
];
const SPEC = { runtime: 'shell', command: ['ls'], env: { A: 'b' }, files: FILES };
// As a page of jobs shows it: no content, its decoded size.
const LISTED = {
  ...SPEC,
  files: [
    { path: 'data/big.bin', encoding: 'base64', bytes: 3 * 1024 * 1024 },
    { path: 'naïve ☃.txt', bytes: 7 },
  ],
};

function open(name: string): Db {
  const { db } = openDatabase(join(dir, name));
  opened.push(db);
  return db;
}

const rowOf = (db: Db, id: string) =>
  db.prepare('SELECT spec, inputs_apart, length(spec) AS bytes FROM jobs WHERE id = ?').get(id) as {
    spec: string;
    inputs_apart: number;
    bytes: number;
  };
const stored = (db: Db, id: string) =>
  db.prepare('SELECT files FROM job_inputs WHERE job_id = ?').get(id) as
    { files: string } | undefined;

describe('migration 011: input files apart from the job row', () => {
  it('stores files once, apart, and hands the whole spec back on every read', () => {
    const db = open('apart.db');
    const [out] = enqueueJobs(db, [{ spec: SPEC, maxAttempts: 2, idempotencyKey: 'k' }], T0);
    const id = out!.job.id;
    const row = rowOf(db, id);
    expect(row.inputs_apart).toBe(1);
    expect(row.bytes).toBeLessThan(200);
    expect(JSON.parse(row.spec)).toEqual(LISTED);
    expect(JSON.parse(stored(db, id)!.files)).toEqual(FILES);

    expect(getJob(db, id)!.spec).toEqual(SPEC);
    expect(listJobs(db).jobs[0]!.spec).toEqual(LISTED);
    // The same key again answers the stored job, files included, and stores nothing more.
    const [again] = enqueueJobs(db, [{ spec: SPEC, maxAttempts: 2, idempotencyKey: 'k' }], T0 + 1);
    expect(again!.created).toBe(false);
    expect(again!.job.spec).toEqual(SPEC);
    expect(db.prepare('SELECT count(*) AS n FROM job_inputs').get()).toEqual({ n: 1 });

    const [claimed] = claimJobs(db, { workerId: 'w1', limit: 1, leaseMs: 30_000, now: T0 + 2 });
    expect(claimed!.spec).toEqual(SPEC);
    const adopted = adoptJob(db, {
      jobId: id,
      attempt: 1,
      workerId: 'w1',
      leaseMs: 30_000,
      now: T0 + 3,
      deadMs: 60_000,
    });
    expect(adopted!.spec).toEqual(SPEC);
    heartbeatJobs(db, [{ id, token: adopted!.token }], 30_000, T0 + 4);
    expect(
      finishJobs(db, [{ id, token: adopted!.token, result: validResult() }], {
        now: T0 + 5,
        retry: RETRY,
        contractVersion: '1.0.0',
      }),
    ).toEqual(['recorded']);
    expect(getJob(db, id)!.spec).toEqual(SPEC);
    expect(rowOf(db, id).bytes).toBeLessThan(200);

    // Retention takes the inputs with the job.
    expect(deleteFinishedBefore(db, T0 + 10).jobIds).toEqual([id]);
    expect(stored(db, id)).toBeUndefined();
  });

  it('keeps jobs without files as they were, and cancels a job with files intact', () => {
    const db = open('plain.db');
    const [plain, withFiles] = enqueueJobs(
      db,
      [
        { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 1 },
        { spec: { ...SPEC, files: [] }, maxAttempts: 1 },
        { spec: SPEC, maxAttempts: 1 },
      ],
      T0,
    ).map((o) => o.job.id);
    expect(rowOf(db, plain!).inputs_apart).toBe(0);
    expect(rowOf(db, withFiles!).inputs_apart).toBe(0);
    expect(getJob(db, withFiles!)!.spec).toEqual({ ...SPEC, files: [] });
    const third = listJobs(db).jobs.find((j) => j.id !== plain && j.id !== withFiles)!;
    expect(cancelJob(db, third.id, T0 + 1).job.spec).toEqual(SPEC);
  });

  it('upgrades a previous-schema file whose queued job carries its files in the row', () => {
    const path = writePreviousSchemaFile(join(dir, `schema${PREVIOUS_SCHEMA}.db`));
    const old = new Database(path);
    old
      .prepare(
        `INSERT INTO jobs (id, spec, status, max_attempts, run_at, created_at, updated_at)
         VALUES ('01OLDQUEUED', ?, 'queued', 1, ?, ?, ?)`,
      )
      .run(JSON.stringify(SPEC), T0, T0, T0);
    old.close();
    const db = open(`schema${PREVIOUS_SCHEMA}.db`);
    expect(rowOf(db, '01OLDQUEUED').inputs_apart).toBe(0);
    expect(getJob(db, '01OLDQUEUED')!.spec).toEqual(SPEC);
    expect(listJobs(db).jobs[0]!.spec).toEqual(LISTED);
    const [claimed] = claimJobs(db, { workerId: 'w1', limit: 1, leaseMs: 30_000, now: T0 + 1 });
    expect(claimed!.spec).toEqual(SPEC);
  });
});
