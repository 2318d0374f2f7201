import { afterAll, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import type { JobResult } from '../../src/contract/resultSchema.js';
import { createDockerExecutor } from '../../src/executor/index.js';
import { createLogger } from '../../src/log.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';
import type { RecoverableExecutor } from '../../src/worker/ports.js';
import { WorkerPool } from '../../src/worker/WorkerPool.js';
import { report, round1 } from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

/**
 * Issue 7, "Poison jobs": jobs whose result breaks the contract (an executor answering
 * in the legacy flat-metrics shape) or that crash the executor outright. They must end
 * failed after their attempts, while the other jobs keep at least 80% of the
 * throughput they have alone. In-process, so the executor can be wrapped: a real
 * engine runs every job, the wrapper spoils the poison ones.
 */
const GOOD = Number(process.env.CHAOS_POISON_GOOD ?? 60);
const POISON_EACH = 6;

describe('poison jobs', () => {
  const { config, cleanup } = testConfig({
    workers: 2,
    retry: { baseMs: 100, capMs: 500 },
    limits: { minFreeBytes: 1 },
  });
  let queue: SqliteQueue | null = null;
  let pool: WorkerPool | null = null;

  afterAll(async () => {
    await pool?.stop(5000);
    queue?.close();
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    cleanup();
  });

  it('fails poison jobs after their attempts and keeps >= 80% throughput for the rest', async () => {
    queue = SqliteQueue.open(config);
    const store = await createFileBlobStore(config);
    const real = createDockerExecutor({
      config,
      store,
      sampleUsage: false,
      identity: { instance: TEST_INSTANCE, database: queue.databaseId },
    });
    let corrupted = 0;
    let crashed = 0;
    const poisoned: RecoverableExecutor = {
      async run(request) {
        const poison = request.spec.env.POISON;
        if (poison === 'crash') {
          crashed += 1;
          throw new TypeError("Cannot read properties of undefined (reading 'stage_times')");
        }
        const result = await real.run(request);
        if (poison !== 'corrupt') return result;
        corrupted += 1;
        // The legacy shape from DESIGN.md: flat metrics, no stage_times.
        const { metrics, ...rest } = result;
        return {
          ...rest,
          metrics: { total_seconds: metrics.total_seconds },
        } as unknown as JobResult;
      },
      findContainers: () => real.findContainers(),
      reattach: (id, request) => real.reattach(id, request),
      removeContainer: (id) => real.removeContainer(id),
    };
    const jobs = new JobService(config, queue);
    const lines: string[] = [];
    pool = new WorkerPool({
      config,
      queue,
      executor: poisoned,
      liveLogs: new LiveLogs(),
      logger: createLogger('warn', (line) => lines.push(line)),
    });
    jobs.onSubmitted(() => pool!.notify());
    await pool.start();

    const good = { image: 'runbox-test/shell:latest', command: ['true'] };
    const runGood = async (extra: Array<Record<string, unknown>>) => {
      const started = performance.now();
      const goodIds: string[] = [];
      const extraIds: string[] = [];
      // Interleaved, so poison jobs sit among the good ones in the queue.
      const every = Math.max(1, Math.floor(GOOD / Math.max(1, extra.length)));
      let e = 0;
      for (let i = 0; i < GOOD; i++) {
        goodIds.push((await jobs.submit(good)).job.id);
        if (i % every === 0 && e < extra.length)
          extraIds.push((await jobs.submit(extra[e++])).job.id);
      }
      while (e < extra.length) extraIds.push((await jobs.submit(extra[e++])).job.id);
      const goodFinal = await Promise.all(goodIds.map((id) => jobs.waitFinal(id, 300_000)));
      const seconds = (performance.now() - started) / 1000;
      const extraFinal = await Promise.all(extraIds.map((id) => jobs.waitFinal(id, 300_000)));
      return { seconds, goodFinal, extraFinal };
    };

    const poison = [
      ...Array.from({ length: POISON_EACH }, () => ({ ...good, env: { POISON: 'corrupt' } })),
      ...Array.from({ length: POISON_EACH }, () => ({ ...good, env: { POISON: 'crash' } })),
    ];
    // Alone, mixed, mixed, alone: a machine whose load drifts during the test then
    // weighs on both sides alike instead of sinking whichever ran second.
    const aloneA = await runGood([]);
    const mixed = await runGood(poison);
    const mixedB = await runGood(poison);
    const aloneB = await runGood([]);
    const alone = {
      seconds: (aloneA.seconds + aloneB.seconds) / 2,
      goodFinal: [...aloneA.goodFinal, ...aloneB.goodFinal],
    };
    mixed.seconds = (mixed.seconds + mixedB.seconds) / 2;
    mixed.goodFinal.push(...mixedB.goodFinal);

    const perMinute = (seconds: number) => round1((GOOD / seconds) * 60);
    const ratio = alone.seconds / mixed.seconds;
    const byError = mixed.extraFinal.reduce<Record<string, number>>((acc, j) => {
      const key = `${j.status}:${j.error?.type ?? '-'}:attempts=${j.attempts}`;
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {});
    report('poison-jobs', {
      goodJobs: GOOD,
      poisonJobs: poison.length,
      goodPerMinuteAlone: perMinute(alone.seconds),
      goodPerMinuteWithPoison: perMinute(mixed.seconds),
      throughputKept: `${Math.round(ratio * 100)}%`,
      poisonOutcomes: byError,
      executorRunsCorrupted: corrupted,
      executorCrashes: crashed,
    });

    for (const j of [...alone.goodFinal, ...mixed.goodFinal]) expect(j.status).toBe('succeeded');
    const corrupt = [mixed, mixedB].flatMap((m) => m.extraFinal.slice(0, POISON_EACH));
    const crash = [mixed, mixedB].flatMap((m) => m.extraFinal.slice(POISON_EACH));
    for (const j of corrupt) {
      expect(j.status).toBe('failed');
      expect(j.error?.type).toBe('ContractViolation');
      expect(j.error?.message).toMatch(/stage_times/);
    }
    for (const j of crash) {
      expect(j.status).toBe('failed');
      expect(j.error?.type).toBe('Internal');
      expect(j.attempts).toBe(config.defaults.maxAttempts);
    }
    expect(lines.some((l) => l.includes('result violates the contract'))).toBe(true);
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    await pool.stop(5000);
    pool = null;
  });
});
