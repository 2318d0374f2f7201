import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { failureResult } from '../../src/contract/failureResult.js';
import { RunboxError } from '../../src/errors/index.js';
import { createLogger } from '../../src/log.js';
import {
  SqliteQueue,
  type SqliteQueueConfig,
  type SqliteQueueOptions,
} from '../../src/queue/sqlite/SqliteQueue.js';
import { probeWriterThread } from '../../src/queue/sqlite/writer/probeWriterThread.js';
import { deserializeError, serializeError } from '../../src/queue/sqlite/writer/protocol.js';
import type { EnqueueItem } from '../../src/queue/types.js';
import { validResult } from '../helpers/results.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-writer-'));
let counter = 0;
const opened: SqliteQueue[] = [];
afterEach(async () => {
  for (const q of opened.splice(0)) await q.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const item: EnqueueItem = { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 3 };

function configOf(path = join(dir, `q${++counter}.db`)): SqliteQueueConfig {
  return {
    dbPath: path,
    lease: { heartbeatMs: 5000, expiryMs: 30_000 },
    retry: { baseMs: 1000, capMs: 60_000 },
    commitWindowMs: 0,
    workerDeadMs: 30_000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 0,
  };
}

/** A thread from the first call on (the default starts it only for busy pools). */
const AT_ONCE = { startAtResults: 1, idleMs: 60_000 };

function openQueue(options: SqliteQueueOptions = {}, config = configOf()): SqliteQueue {
  const queue = SqliteQueue.open(config, { writerThread: AT_ONCE, ...options });
  opened.push(queue);
  return queue;
}

/** The thread behind a queue now, to see it or make it fail as a crash would (no public way, on purpose). */
function threadOf(queue: SqliteQueue): Worker | null {
  const lane = (queue as unknown as { writer: { thread: { worker: Worker } | null } }).writer;
  return lane.thread?.worker ?? null;
}

async function submitAndClaim(queue: SqliteQueue, n: number, claim: number) {
  await queue.submit(Array.from({ length: n }, () => item));
  return queue.claim({ workerId: 'w1', limit: claim });
}

describe('the SQLite queue with a writer thread', () => {
  it("records and claims on the thread's connection: the queue's own commits none of it", async () => {
    const queue = openQueue();
    const held = await submitAndClaim(queue, 4, 2);
    const commits = queue.batcher.commits;
    const { outcomes, claimed } = await queue.finishAndClaim(
      held.map((job) => ({ id: job.id, token: job.token, result: validResult() })),
      { workerId: 'w1', limit: 5 },
    );
    expect(queue.batcher.commits).toBe(commits);
    expect(outcomes).toEqual(['recorded', 'recorded']);
    expect(claimed.map((job) => job.attempt)).toEqual([1, 1]);
    expect(claimed[0]!.spec).toEqual(item.spec);
    // Read back on the queue's own connection: committed before the answer came.
    expect(await queue.counts()).toMatchObject({ succeeded: 2, running: 2, queued: 0 });
    for (const job of held) expect((await queue.get(job.id))?.attempts).toBe(1);
  });

  it("decides retries with the queue's clock and jitter, not the thread's", async () => {
    const t = Date.parse('2026-12-01T00:00:00Z');
    const queue = openQueue({ now: () => t, random: () => 0.5 });
    const [held] = await submitAndClaim(queue, 2, 1);
    const { outcomes, claimed } = await queue.finishAndClaim(
      [
        {
          id: held!.id,
          token: held!.token,
          result: failureResult(new RunboxError('WorkerLost', 'gone')),
        },
      ],
      { workerId: 'w1', limit: 1 },
    );
    expect(outcomes).toEqual(['recorded']);
    const retried = await queue.get(held!.id);
    // Attempt 1 failed: full jitter of baseMs, 0.5 of 1000 ms, from the queue's own now.
    expect(retried).toMatchObject({ status: 'queued', runAt: t + 500, errorType: 'WorkerLost' });
    expect(claimed[0]!.leaseExpiresAt).toBe(t + 30_000);
  });

  it('keeps going on its own connection when the thread dies, and says so once', async () => {
    const lines: string[] = [];
    const queue = openQueue({ log: createLogger('warn', (line) => lines.push(line)) });
    const held = await submitAndClaim(queue, 3, 3);
    await queue.finishAndClaim(
      [{ id: held[0]!.id, token: held[0]!.token, result: validResult() }],
      {
        workerId: 'w1',
        limit: 0,
      },
    );
    await threadOf(queue)!.terminate();
    for (const job of held.slice(1)) {
      const { outcomes } = await queue.finishAndClaim(
        [{ id: job.id, token: job.token, result: validResult() }],
        { workerId: 'w1', limit: 0 },
      );
      expect(outcomes).toEqual(['recorded']);
    }
    expect(await queue.counts()).toMatchObject({ succeeded: 3, running: 0 });
    const warnings = lines.filter((line) => line.includes('writer thread'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('results are recorded on the main thread');
  });

  it('close() lets a result in flight commit, and it is there when the file is opened again', async () => {
    const config = configOf();
    const queue = SqliteQueue.open(config, { writerThread: AT_ONCE });
    const [held] = await submitAndClaim(queue, 1, 1);
    const answer = queue.finishAndClaim(
      [{ id: held!.id, token: held!.token, result: validResult() }],
      { workerId: 'w1', limit: 1 },
    );
    const closed = queue.close();
    expect((await answer).outcomes).toEqual(['recorded']);
    await closed;
    const again = openQueue({ writerThread: false }, config);
    expect(await again.get(held!.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('closeNow() settles a call still out: refused, never left hanging', async () => {
    const queue = SqliteQueue.open(configOf(), { writerThread: AT_ONCE });
    const [held] = await submitAndClaim(queue, 1, 1);
    const answer = queue.finishAndClaim(
      [{ id: held!.id, token: held!.token, result: validResult() }],
      { workerId: 'w1', limit: 1 },
    );
    queue.closeNow();
    await expect(answer).rejects.toThrow(/closed|stopped/);
  });

  it('shares the file with the queue’s own writes: every job recorded once, no busy errors', async () => {
    const queue = openQueue();
    const n = 600;
    await queue.submit(Array.from({ length: n }, () => item));
    let held = await queue.claim({ workerId: 'w1', limit: 50 });
    const extra: Promise<unknown>[] = [];
    let recorded = 0;
    while (held.length > 0) {
      // The queue's own connection writes meanwhile: heartbeats, submits, a cancel.
      extra.push(
        queue.heartbeat(
          'w1',
          held.map((job) => ({ id: job.id, token: job.token })),
        ),
      );
      extra.push(queue.submit([{ ...item, queue: 'elsewhere' }]));
      const { outcomes, claimed } = await queue.finishAndClaim(
        held.map((job) => ({ id: job.id, token: job.token, result: validResult() })),
        { workerId: 'w1', limit: 50 },
      );
      recorded += outcomes.filter((o) => o === 'recorded').length;
      held = claimed;
    }
    await Promise.all(extra);
    expect(recorded).toBe(n);
    const counts = await queue.counts();
    expect(counts.succeeded).toBe(n);
    expect(counts.queued).toBe(extra.length / 2);
    const page = await queue.list({ status: 'succeeded', limit: 1000 });
    expect(page.jobs.every((job) => job.attempts === 1)).toBe(true);
  });

  it('by default starts only for several results at once, and stops when idle', async () => {
    const queue = openQueue({ writerThread: { startAtResults: 2, idleMs: 100 } });
    const held = await submitAndClaim(queue, 5, 5);
    const finish = (jobs: typeof held) =>
      queue.finishAndClaim(
        jobs.map((job) => ({ id: job.id, token: job.token, result: validResult() })),
        { workerId: 'w1', limit: 0 },
      );
    const commits = queue.batcher.commits;
    await finish(held.slice(0, 1));
    // One result: recorded on the queue's own connection, no thread.
    expect(queue.batcher.commits).toBe(commits + 1);
    expect(threadOf(queue)).toBeNull();
    await finish(held.slice(1, 3));
    expect(queue.batcher.commits).toBe(commits + 1);
    const thread = threadOf(queue)!;
    expect(thread).not.toBeNull();
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    await exited;
    expect(threadOf(queue)).toBeNull();
    // Busy again: a new thread.
    expect((await finish(held.slice(3))).outcomes).toEqual(['recorded', 'recorded']);
    expect(queue.batcher.commits).toBe(commits + 1);
    expect(threadOf(queue)).not.toBeNull();
    expect(await queue.counts()).toMatchObject({ succeeded: 5, running: 0 });
  });

  it('is not started for an in-memory database (another connection could not see it)', async () => {
    const queue = openQueue({}, { ...configOf(), dbPath: ':memory:' });
    expect((queue as unknown as { writer: unknown }).writer).toBeNull();
    const [held] = await submitAndClaim(queue, 1, 1);
    const { outcomes } = await queue.finishAndClaim(
      [{ id: held!.id, token: held!.token, result: validResult() }],
      { workerId: 'w1', limit: 0 },
    );
    expect(outcomes).toEqual(['recorded']);
  });
});

describe("the writer thread's errors", () => {
  it('keep what callers match on: a SQLite code, a RunboxError type and field', () => {
    const full = Object.assign(new Error('database or disk is full'), {
      name: 'SqliteError',
      code: 'SQLITE_FULL',
    });
    const back = deserializeError(serializeError(full)) as Error & { code?: string };
    expect(back).toMatchObject({ name: 'SqliteError', code: 'SQLITE_FULL', message: full.message });
    const typed = deserializeError(
      serializeError(new RunboxError('InvalidSpec', 'bad', { field: 'spec.x' })),
    );
    expect(typed).toBeInstanceOf(RunboxError);
    expect(typed).toMatchObject({ type: 'InvalidSpec', field: 'spec.x', message: 'bad' });
    expect(deserializeError(serializeError('a string'))).toMatchObject({ message: 'a string' });
  });
});

describe("doctor's probe of the writer thread", () => {
  it('starts one on a scratch database, stops it, and leaves no scratch folder', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('runbox-writer-probe-'));
    const ms = await probeWriterThread();
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(10_000);
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith('runbox-writer-probe-'));
    expect(after).toEqual(before);
  });
});
