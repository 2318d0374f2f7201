import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteQueue, type SqliteQueueConfig } from '../../src/queue/sqlite/SqliteQueue.js';
import type { EnqueueItem } from '../../src/queue/types.js';
import { validResult } from '../helpers/results.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-finish-claim-'));
let counter = 0;
const open: SqliteQueue[] = [];
afterEach(() => {
  for (const q of open.splice(0)) q.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const item: EnqueueItem = { spec: { runtime: 'shell', command: ['true'] }, maxAttempts: 3 };

function openQueue(): SqliteQueue {
  const config: SqliteQueueConfig = {
    dbPath: join(dir, `q${++counter}.db`),
    lease: { heartbeatMs: 5000, expiryMs: 30_000 },
    retry: { baseMs: 1000, capMs: 60_000 },
    // A long window: finishAndClaim must not wait for it.
    commitWindowMs: 10_000,
    workerDeadMs: 30_000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 0,
  };
  const queue = SqliteQueue.open(config);
  open.push(queue);
  return queue;
}

describe('finishAndClaim', () => {
  it('records results and claims the next jobs in one commit, without waiting for the window', async () => {
    const queue = openQueue();
    queue.batcher.flush();
    const submitted = queue.submit([item, item, item, item]);
    queue.batcher.flush();
    await submitted;
    const held = await queue.claim({ workerId: 'w1', limit: 2 });
    const commitsBefore = queue.batcher.commits;
    const started = Date.now();
    const { outcomes, claimed } = await queue.finishAndClaim(
      held.map((job) => ({ id: job.id, token: job.token, result: validResult() })),
      { workerId: 'w1', limit: 5 },
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(queue.batcher.commits - commitsBefore).toBe(1);
    expect(outcomes).toEqual(['recorded', 'recorded']);
    expect(claimed).toHaveLength(2);
    expect(await queue.counts()).toMatchObject({ succeeded: 2, running: 2, queued: 0 });
    for (const job of claimed) expect((await queue.get(job.id))?.leaseOwner).toBe('w1');
  });

  it('reports a success with a superseded token as stale and leaves the job as it was', async () => {
    const queue = openQueue();
    const submitted = queue.submit([item]);
    queue.batcher.flush();
    await submitted;
    const [job] = await queue.claim({ workerId: 'w1', limit: 1 });
    const { outcomes } = await queue.finishAndClaim(
      [{ id: job!.id, token: 'not-the-token', result: validResult() }],
      { workerId: 'w1', limit: 0 },
    );
    expect(outcomes).toEqual(['stale']);
    expect(await queue.get(job!.id)).toMatchObject({ status: 'running', result: null });
  });

  it('tells onFinished listeners the ids it recorded, after their commit', async () => {
    const queue = openQueue();
    const submitted = queue.submit([item, item]);
    queue.batcher.flush();
    await submitted;
    const [a, b] = await queue.claim({ workerId: 'w1', limit: 2 });
    const heard: string[][] = [];
    queue.onFinished((ids) => heard.push([...ids]));
    await queue.finishAndClaim(
      [
        { id: a!.id, token: a!.token, result: validResult() },
        { id: b!.id, token: 'stale', result: validResult() },
      ],
      { workerId: 'w1', limit: 0 },
    );
    expect(heard).toEqual([[a!.id]]);
  });
});
