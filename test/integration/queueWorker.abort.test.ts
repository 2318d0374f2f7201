import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { failureResult } from '../../src/contract/failureResult.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { RunboxError } from '../../src/errors/index.js';
import type { ExecuteRequest } from '../../src/executor/Executor.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';
import type { RecoverableExecutor } from '../../src/worker/ports.js';
import { WorkerPool } from '../../src/worker/WorkerPool.js';
import { validResult } from '../helpers/results.js';

/**
 * The pool makes a job's AbortController only when the executor first reads
 * `request.signal` (no-op jobs never do). Whenever the executor reads it, before or after
 * the stop, it must see the stop: a listener added early hears it, a signal read late is
 * already aborted, with the first reason given; and what the pool does with the job
 * (cancelled, or released on a drain) follows that reason.
 */

const dirs: string[] = [];
/** The pool under test, for an executor that watches it (it runs before oneJob returns). */
let current: WorkerPool;
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function oneJob(run: (request: ExecuteRequest, started: () => void) => Promise<JobResult>) {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-abort-'));
  dirs.push(dir);
  const config = loadConfig({
    env: {},
    overrides: { dataDir: dir, dbPath: join(dir, 'runbox.db'), workers: 1 },
  });
  const queue = SqliteQueue.open(config);
  const [submitted] = await queue.submit([
    {
      spec: { runtime: 'shell', command: ['true'] },
      priority: 0,
      maxAttempts: 3,
      retryOnExitCodes: [],
    },
  ]);
  const id = submitted!.job.id;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const executor: RecoverableExecutor = {
    run: (request) => run(request, started),
    findContainers: async () => [],
    reattach: async () => validResult(),
    removeContainer: async () => {},
  };
  const pool = new WorkerPool({ config, queue, executor, liveLogs: new LiveLogs(), pollMs: 20 });
  current = pool;
  await pool.start();
  await running;
  return { id, pool, queue };
}

const cancelled = () => failureResult(new RunboxError('Cancelled', 'stopped by the test'));

async function settled(queue: SqliteQueue, id: string) {
  for (let i = 0; i < 200; i++) {
    const job = await queue.get(id);
    if (job && job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the job never left running');
}

describe('worker pool abort signal, made on first use', () => {
  it('a signal read after the cancel is already aborted with reason cancel', async () => {
    let go!: () => void;
    const later = new Promise<void>((resolve) => (go = resolve));
    const seen: { aborted: boolean; reason: unknown }[] = [];
    const { id, pool, queue } = await oneJob(async (request, started) => {
      started();
      await later;
      seen.push({ aborted: request.signal!.aborted, reason: request.signal!.reason });
      return cancelled();
    });
    try {
      expect(pool.cancelLocal(id)).toBe(true);
      // A second stop does not replace the first reason.
      expect(pool.cancelLocal(id)).toBe(true);
      go();
      const job = await settled(queue, id);
      expect(seen).toEqual([{ aborted: true, reason: 'cancel' }]);
      expect(job.status).toBe('cancelled');
      expect(job.attempts).toBe(1);
    } finally {
      await pool.stop(1000);
      queue.closeNow();
    }
  });

  it('a listener added before the cancel hears it once', async () => {
    const heard: unknown[] = [];
    const { id, pool, queue } = await oneJob(
      (request, started) =>
        new Promise((resolve) => {
          const signal = request.signal!;
          expect(signal.aborted).toBe(false);
          signal.addEventListener('abort', () => {
            heard.push(signal.reason);
            resolve(cancelled());
          });
          started();
        }),
    );
    try {
      pool.cancelLocal(id);
      const job = await settled(queue, id);
      expect(heard).toEqual(['cancel']);
      expect(job.status).toBe('cancelled');
    } finally {
      await pool.stop(1000);
      queue.closeNow();
    }
  });

  it('a drain that runs out releases the job, seen by a signal read only after it', async () => {
    let reason: unknown = 'unread';
    const { id, pool, queue } = await oneJob(async (request, started) => {
      started();
      // Without reading the signal (so the pool has made no controller), wait until the
      // drain has begun, then well past its 50 ms: only then read it.
      while (!stopping(current)) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 300));
      reason = request.signal!.reason;
      return failureResult(new RunboxError('Cancelled', 'killed by the drain'));
    });
    await pool.stop(50);
    expect(reason).toBe('drain');
    const job = (await queue.get(id))!;
    // Released, not failed: the job runs again elsewhere, and the attempt is not counted
    // against it twice.
    expect(job.status).toBe('queued');
    expect(job.attempts).toBe(1);
    queue.closeNow();
  });
});

/** Whether the pool is stopping (its drain has begun); read through its private flag. */
function stopping(pool: WorkerPool): boolean {
  return (pool as unknown as { stopping: boolean }).stopping;
}
