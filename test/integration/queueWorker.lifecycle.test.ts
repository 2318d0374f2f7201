import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import type { Config } from '../../src/config.js';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import type { ExecuteRequest } from '../../src/executor/Executor.js';
import { createDockerExecutor } from '../../src/executor/index.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';
import { retentionSweep } from '../../src/maintenance/retentionSweep.js';
import { WorkerPool } from '../../src/worker/WorkerPool.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { shellJob } from '../helpers/queueProbe.js';
import { validResult } from '../helpers/results.js';
import { TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

/**
 * The queue and a real worker pool in this process, over a real engine: the order jobs
 * start in (priority, then age; delayed jobs wait for their time), and retries spaced
 * by backoff up to its cap. The executor is wrapped only to note when each attempt
 * starts; the jitter source is pinned near its top so spacing has a lower bound.
 */

interface Started {
  id: string;
  attempt: number;
  at: number;
  endedAt?: number;
}

async function pieces(overrides: Parameters<typeof testConfig>[0], random?: () => number) {
  const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 }, ...overrides });
  const queue = SqliteQueue.open(config, random ? { random } : {});
  const store = await createFileBlobStore(config);
  const executor = createDockerExecutor({
    config,
    store,
    docker: new Docker({ socketPath: config.dockerSocket }),
    identity: { instance: TEST_INSTANCE, database: queue.databaseId },
  });
  const started: Started[] = [];
  // Delegates everything, noting when each attempt is handed to the executor.
  const noting = new Proxy(executor, {
    get(target, prop) {
      if (prop === 'run') {
        return async (request: ExecuteRequest) => {
          const entry: Started = { id: request.jobId, attempt: request.attempt, at: Date.now() };
          started.push(entry);
          try {
            return await target.run(request);
          } finally {
            entry.endedAt = Date.now();
          }
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  const jobs = new JobService(config, queue);
  const pool = new WorkerPool({ config, queue, executor: noting, liveLogs: new LiveLogs() });
  jobs.onSubmitted(() => pool.notify());
  return {
    config,
    queue,
    store,
    jobs,
    pool,
    started,
    async close() {
      await pool.stop(1000);
      queue.close();
      cleanup();
    },
  };
}

describe('worker pool over the queue', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
    await expectNoLeftoverContainers(TEST_INSTANCE);
  });

  it('starts jobs by priority, then age; a delayed job waits for its time', async () => {
    const p = await pieces({ workers: 1 });
    close = p.close;
    const quick = (priority: number) => ({ runtime: 'shell', command: ['true'], priority });
    // Submitted before any worker runs, in an order that is not the run order.
    const submitted: Record<string, string> = {};
    for (const [name, priority] of [
      ['p5', 5],
      ['p-3a', -3],
      ['p0', 0],
      ['p10', 10],
      ['p-3b', -3],
    ] as const) {
      submitted[name] = (await p.jobs.submit(quick(priority))).job.id;
    }
    const runAt = Date.now() + 2500;
    const delayed = (await p.jobs.submit({ ...quick(-100), run_at: new Date(runAt).toISOString() }))
      .job.id;

    await p.pool.start();
    const final = await p.jobs.waitFinal(delayed, 30_000);
    expect(final.status).toBe('succeeded');
    for (const id of Object.values(submitted)) {
      expect((await p.jobs.waitFinal(id, 30_000)).status).toBe('succeeded');
    }

    const names = new Map(Object.entries(submitted).map(([name, id]) => [id, name]));
    names.set(delayed, 'delayed');
    const order = p.started.map((s) => names.get(s.id));
    expect(order.filter((n) => n !== 'delayed')).toEqual(['p-3a', 'p-3b', 'p0', 'p5', 'p10']);
    // The delayed job outranks all, but is not started before runAt; once due, it is
    // the next one started (a job claimed just before runAt may still be running).
    const delayedStart = p.started.find((s) => s.id === delayed)!;
    expect(delayedStart.at).toBeGreaterThanOrEqual(runAt);
    for (const s of p.started) {
      if (s.id !== delayed && s.at >= runAt + 50) expect(s.at).toBeGreaterThan(delayedStart.at);
    }
    expect(Date.parse(final.started_at!)).toBeGreaterThanOrEqual(runAt);
    // The recorded started_at agrees with the order seen.
    const startedAts: number[] = [];
    for (const s of p.started) startedAts.push(Date.parse((await p.jobs.get(s.id)).started_at!));
    expect([...startedAts].sort((a, b) => a - b)).toEqual(startedAts);
  });

  it('spaces retries by backoff up to its cap, then fails when attempts are spent', async () => {
    const base = 400;
    const cap = 700;
    // Jitter pinned near its top: each delay is just under min(cap, base * 2^(n-1)).
    const p = await pieces({ workers: 1, retry: { baseMs: base, capMs: cap } }, () => 0.999);
    close = p.close;
    await p.pool.start();
    const retried = (
      await p.jobs.submit({
        ...shellJob('echo try; exit 3'),
        retry_on_exit_codes: [3],
        max_attempts: 4,
      })
    ).job.id;
    const notListed = (
      await p.jobs.submit({
        ...shellJob('exit 4'),
        retry_on_exit_codes: [3],
        max_attempts: 4,
      })
    ).job.id;

    const final = await p.jobs.waitFinal(retried, 30_000);
    expect(final.status).toBe('failed');
    expect(final.attempts).toBe(4);
    expect(final.error?.type).toBe('NonZeroExit');
    expect(final.result?.exit_code).toBe(3);
    const once = await p.jobs.waitFinal(notListed, 30_000);
    expect(once).toMatchObject({ status: 'failed', attempts: 1 });
    expect(once.result?.exit_code).toBe(4);

    const attempts = p.started.filter((s) => s.id === retried);
    expect(attempts.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    const ceilings = [base, Math.min(cap, base * 2), Math.min(cap, base * 4)];
    for (let n = 0; n < 3; n++) {
      const gap = attempts[n + 1]!.at - attempts[n]!.endedAt!;
      const delay = Math.floor(0.999 * ceilings[n]!);
      // Not before its run_at; and within one idle poll (250 ms) plus slack after it,
      // which for the third retry is well under the uncapped 1600 ms.
      expect(gap, `retry ${n + 1}`).toBeGreaterThanOrEqual(delay);
      expect(gap, `retry ${n + 1}`).toBeLessThan(delay + 700);
    }
  });

  it('judges workers dead after workerDeadMs and deletes their rows after retention', async () => {
    const { config, cleanup } = testConfig({
      workerDeadMs: 30_000,
      workerRetentionMs: 3_600_000,
      jobRetentionMs: 0,
      limits: { minFreeBytes: 0 },
    });
    let now = Date.parse('2026-01-01T00:00:00Z');
    const queue = SqliteQueue.open(config, { now: () => now });
    const store = await createFileBlobStore(config);
    close = async () => {
      queue.close();
      cleanup();
    };
    const register = (id: string) =>
      queue.registerWorker({
        id,
        host: 'h',
        pid: 1,
        version: '0',
        contract: CURRENT_CONTRACT,
      });
    await register('w-live');
    await register('w-silent');
    await register('w-stopped');
    await queue.stopWorker('w-stopped');
    const states = async () =>
      Object.fromEntries(
        (await queue.listWorkers()).map((w) => [w.id, w.alive ? 'alive' : 'dead']),
      );

    now += 29_000;
    await queue.heartbeatWorker('w-live');
    expect(await states()).toEqual({ 'w-live': 'alive', 'w-silent': 'alive', 'w-stopped': 'dead' });
    now += 2_000;
    expect(await states()).toEqual({ 'w-live': 'alive', 'w-silent': 'dead', 'w-stopped': 'dead' });

    // Within retention nothing is deleted, through the same sweep the server runs.
    now += 3_000_000;
    await queue.heartbeatWorker('w-live');
    const sweepConfig: Readonly<Config> = config;
    expect((await retentionSweep({ queue, store, config: sweepConfig })).deletedWorkers).toBe(0);
    now += 700_000;
    await queue.heartbeatWorker('w-live');
    expect((await retentionSweep({ queue, store, config: sweepConfig })).deletedWorkers).toBe(2);
    expect(Object.keys(await states())).toEqual(['w-live']);
  });
});

describe('worker pool drain, with an executor that answers as told', () => {
  /** Runs nothing: each run waits for the abort, then answers with `answer`. */
  function scripted(answer: JobResult) {
    return {
      run: (request: ExecuteRequest) =>
        new Promise<JobResult>((resolve) =>
          request.signal!.addEventListener('abort', () => resolve(answer), { once: true }),
        ),
      findContainers: async () => [],
      reattach: async () => answer,
      removeContainer: async () => {},
    };
  }

  async function drainOne(answer: JobResult) {
    const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 }, workers: 1 });
    const queue = SqliteQueue.open(config);
    try {
      const jobs = new JobService(config, queue);
      const pool = new WorkerPool({
        config,
        queue,
        executor: scripted(answer),
        liveLogs: new LiveLogs(),
      });
      jobs.onSubmitted(() => pool.notify());
      await pool.start();
      const { job } = await jobs.submit({ runtime: 'shell', command: ['true'] });
      await waitUntil(async () => (await jobs.get(job.id)).status === 'running');
      await pool.stop(200);
      return await jobs.get(job.id);
    } finally {
      queue.close();
      cleanup();
    }
  }

  it('records a job that ended on its own as the drain timed out, instead of running it again', async () => {
    const job = await drainOne(validResult());
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('releases a job the drain did stop, back to queued without a failure', async () => {
    const job = await drainOne({
      ...validResult(),
      exit_code: 137,
      error: { type: 'WorkerLost', message: 'stopped by the worker (drain)', field: null },
    });
    expect(job).toMatchObject({ status: 'queued', attempts: 1, result: null });
  });
});

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
