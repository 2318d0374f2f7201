import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../src/api/jobService.js';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { CommitBatcher } from '../../src/queue/sqlite/CommitBatcher.js';
import { enqueueJobs } from '../../src/queue/sqlite/enqueueJobs.js';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';
import {
  SqliteQueue,
  type SqliteQueueConfig,
  type SqliteQueueOptions,
} from '../../src/queue/sqlite/SqliteQueue.js';
import type { EnqueueItem } from '../../src/queue/types.js';
import type { WorkerQueue } from '../../src/worker/ports.js';
import { validResult } from '../helpers/results.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-batcher-'));
let counter = 0;
const freshPath = () => join(dir, `q${++counter}.db`);
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const q of open.splice(0)) q.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const item = (over: Partial<EnqueueItem> = {}): EnqueueItem => ({
  spec: { runtime: 'shell', command: ['true'] },
  maxAttempts: 3,
  ...over,
});

function config(over: Partial<SqliteQueueConfig> = {}): SqliteQueueConfig {
  return {
    dbPath: freshPath(),
    lease: { heartbeatMs: 5000, expiryMs: 30_000 },
    retry: { baseMs: 1000, capMs: 60_000 },
    commitWindowMs: 5,
    workerDeadMs: 30_000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 7 * 24 * 3600 * 1000,
    ...over,
  };
}

function openQueue(
  over: Partial<SqliteQueueConfig> = {},
  options: SqliteQueueOptions = {},
): SqliteQueue {
  const queue = SqliteQueue.open(config(over), options);
  open.push(queue);
  return queue;
}

function reader(path: string) {
  const db = new Database(path, { readonly: true });
  open.push(db);
  return (id: string) => db.prepare('SELECT status FROM jobs WHERE id = ?').get(id) !== undefined;
}

describe('CommitBatcher', () => {
  it('resolves a write only after the commit that holds it, visible to another connection', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 20 });
    const seen = reader(path);
    let resolved = false;
    const promise = batcher
      .run((d) => enqueueJobs(d, [item()], Date.now()))
      .then((out) => {
        resolved = true;
        return out;
      });
    await new Promise((r) => setTimeout(r, 5));
    expect(resolved).toBe(false);
    expect(batcher.commits).toBe(0);
    const [out] = await promise;
    expect(batcher.commits).toBe(1);
    expect(seen(out!.job.id)).toBe(true);
  });

  it('groups many concurrent submits into few transactions', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 5, maxBatch: 250 });
    const outs = await Promise.all(
      Array.from({ length: 1000 }, () => batcher.run((d) => enqueueJobs(d, [item()], Date.now()))),
    );
    expect(new Set(outs.map(([o]) => o!.job.id)).size).toBe(1000);
    expect(batcher.operations).toBe(1000);
    expect(batcher.commits).toBeGreaterThanOrEqual(4);
    expect(batcher.commits).toBeLessThanOrEqual(8);
  });

  it('rejects only the failing write of a batch; the others commit', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 5 });
    const good = batcher.run((d) => enqueueJobs(d, [item()], Date.now()));
    const bad = batcher.run((d) => {
      enqueueJobs(d, [item({ idempotencyKey: 'half-written' })], Date.now());
      throw new Error('boom');
    });
    await expect(bad).rejects.toThrow('boom');
    const [out] = await good;
    expect(batcher.commits).toBe(1);
    expect(reader(path)(out!.job.id)).toBe(true);
    expect(
      db.prepare("SELECT count(*) AS n FROM jobs WHERE idempotency_key = 'half-written'").get(),
    ).toEqual({ n: 0 });
  });

  it('undoes a failing write alone in its batch (no savepoint) and keeps committing after it', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 0 });
    const bad = batcher.run((d) => {
      enqueueJobs(d, [item({ idempotencyKey: 'alone-half-written' })], Date.now());
      throw new Error('boom alone');
    });
    await expect(bad).rejects.toThrow('boom alone');
    expect(db.inTransaction).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM jobs').get()).toEqual({ n: 0 });
    const [out] = await batcher.run((d) => enqueueJobs(d, [item()], Date.now()));
    expect(reader(path)(out!.job.id)).toBe(true);
    expect(batcher.commits).toBe(1);
  });

  it('fails the whole batch, committing nothing, when SQLite rolled the transaction back itself', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 5 });
    const before = batcher.run((d) => enqueueJobs(d, [item()], Date.now()));
    const fatal = batcher.run((d) => {
      d.exec('ROLLBACK'); // what SQLITE_FULL or an I/O error does to the transaction
      throw new Error('disk full');
    });
    const after = batcher.run((d) => enqueueJobs(d, [item()], Date.now()));
    const settled = await Promise.allSettled([before, fatal, after]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(db.prepare('SELECT count(*) AS n FROM jobs').get()).toEqual({ n: 0 });
    expect(db.inTransaction).toBe(false);
  });

  it('commits what is pending on close and refuses writes after', async () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    open.push(db);
    const batcher = new CommitBatcher(db, { windowMs: 10_000 });
    const pending = batcher.run((d) => enqueueJobs(d, [item()], Date.now()));
    batcher.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(batcher.run(() => 1)).rejects.toThrow(/closed/);
  });
});

describe('Queue', () => {
  it('serves the worker pool and the API through the interfaces they declare', async () => {
    const queue = openQueue();
    const asWorkerQueue: WorkerQueue = queue;
    const asJobQueue: JobQueue = queue;
    expect(asWorkerQueue).toBe(asJobQueue);
  });

  it('runs submit, claim, heartbeat and finish end to end, finishes group-committed', async () => {
    const queue = openQueue();
    const outs = await queue.submit([item(), item({ priority: -1 })]);
    expect(outs.map((o) => o.created)).toEqual([true, true]);
    const jobs = await queue.claim({ workerId: 'w', limit: 10 });
    expect(jobs.map((j) => j.id)).toEqual([outs[1]!.job.id, outs[0]!.job.id]);
    expect((await queue.heartbeat('w', jobs)).lost).toEqual([]);
    const commitsBefore = queue.batcher.commits;
    const results = await Promise.all(
      jobs.map((j) => queue.finish([{ id: j.id, token: j.token, result: validResult() }])),
    );
    expect(results).toEqual([['recorded'], ['recorded']]);
    expect(queue.batcher.commits - commitsBefore).toBe(1);
    expect(await queue.counts()).toMatchObject({ succeeded: 2, queued: 0, running: 0 });
    expect(await queue.finishedByOutcome()).toEqual([
      { status: 'succeeded', errorType: null, count: 2 },
    ]);
    expect((await queue.get(outs[0]!.job.id))!.contractVersion).toBe(CURRENT_CONTRACT.version);
  });

  it('rejects an invalid item before anything is written, naming the field', async () => {
    const queue = openQueue();
    await expect(queue.submit([item(), item({ maxAttempts: 0 })])).rejects.toMatchObject({
      type: 'InvalidSpec',
      field: 'jobs.1.max_attempts',
    });
    await expect(queue.submit([item({ runAt: Number.NaN })])).rejects.toMatchObject({
      field: 'run_at',
    });
    expect((await queue.counts()).queued).toBe(0);
  });

  it('cancel returns null for an unknown job', async () => {
    expect(await openQueue().cancel('01JUNKNOWN')).toBeNull();
  });

  it('registers a compatible worker and judges it alive, then dead after workerDeadMs', async () => {
    let now = 1_000_000;
    const queue = openQueue({}, { now: () => now });
    await queue.registerWorker({
      id: 'w1',
      host: 'h',
      pid: 1,
      version: '0.1.0',
      contract: CURRENT_CONTRACT,
    });
    expect(await queue.isWorkerAlive('w1')).toBe(true);
    expect(await queue.isWorkerAlive('nobody')).toBe(false);
    now += 29_000;
    expect(await queue.heartbeatWorker('w1')).toBe(true);
    now += 29_000;
    expect(await queue.listWorkers()).toMatchObject([
      { id: 'w1', alive: true, lastHeartbeatAt: now - 29_000 },
    ]);
    now += 2_000;
    expect((await queue.listWorkers())[0]!.alive).toBe(false);
    now += 24 * 3600 * 1000;
    expect(await queue.deleteDeadWorkers()).toBe(1);
  });

  it('refuses an incompatible worker with ContractMismatch and writes no row for it', async () => {
    const queue = openQueue();
    const stale = { ...CURRENT_CONTRACT, version: '2.0.0', fingerprint: 'e'.repeat(64) };
    await expect(
      queue.registerWorker({ id: 'old', host: 'h', pid: 2, version: '0.0.1', contract: stale }),
    ).rejects.toThrow(
      expect.objectContaining({
        type: 'ContractMismatch',
        message: expect.stringContaining('2.0.0'),
      }),
    );
    expect(await queue.listWorkers()).toEqual([]);
  });

  it("requeues a dead worker's jobs and leaves a live worker's alone", async () => {
    const queue = openQueue();
    await queue.registerWorker({
      id: 'live',
      host: 'h',
      pid: 1,
      version: 'v',
      contract: CURRENT_CONTRACT,
    });
    await queue.submit([item(), item()]);
    await queue.claim({ workerId: 'live', limit: 1 });
    const [orphan] = await queue.claim({ workerId: 'ghost', limit: 1 });
    expect(await queue.requeueOwnedByDeadWorkers()).toEqual({
      requeued: [orphan!.id],
      failed: [],
      cancelled: [],
    });
    expect(await queue.get(orphan!.id)).toMatchObject({
      status: 'queued',
      errorType: 'WorkerLost',
    });
    expect((await queue.runningJobs()).map((j) => j.owner)).toEqual(['live']);
  });

  it('two processes claiming and finishing on one file never hold the same job', async () => {
    const queue = openQueue();
    const total = 400;
    await queue.submit(Array.from({ length: total }, () => item()));
    const module = resolve('src/queue/sqlite/SqliteQueue.ts');
    const start = Date.now() + 2000;
    const code = `
      import { SqliteQueue } from ${JSON.stringify(module)};
      const q = SqliteQueue.open(JSON.parse(process.env.QCONF));
      while (Date.now() < ${start}) {}
      const ids = [];
      const result = ${JSON.stringify(validResult())};
      for (let round = 0; ; round++) {
        const jobs = (await q.claim({ workerId: process.env.WID, limit: 1 + (round % 4) }));
        if (jobs.length === 0) break;
        for (const j of jobs) ids.push(j.id);
        // Recording results lets the other process in between claims, as a pool would.
        const outcomes = await q.finish(jobs.map((j) => ({ id: j.id, token: j.token, result })));
        if (outcomes.some((o) => o !== 'recorded')) throw new Error('a claimed job was stale');
      }
      await q.close();
      process.stdout.write(JSON.stringify(ids));`;
    const run = promisify(execFile);
    const outputs = await Promise.all(
      ['a', 'b'].map((wid) =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
          env: {
            ...process.env,
            WID: wid,
            QCONF: JSON.stringify(config({ dbPath: queue.db.name })),
          },
        }),
      ),
    );
    const [a, b] = outputs.map((o) => JSON.parse(o.stdout) as string[]);
    const overlap = a!.filter((id) => new Set(b).has(id));
    expect(overlap).toEqual([]);
    expect(a!.length + b!.length).toBe(total);
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
    expect((await queue.counts()).succeeded).toBe(total);
  }, 20_000);
});
