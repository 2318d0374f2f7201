import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { wrapPino } from '../../src/log.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { LiveLogs } from '../../src/worker/LiveLogs.js';
import type { RecoverableExecutor } from '../../src/worker/ports.js';
import { WorkerPool } from '../../src/worker/WorkerPool.js';
import { validResult } from '../helpers/results.js';

/**
 * A cancel accepted while a job's result waits for its commit (another node's cancel, or
 * one that came between the pool's last look and the commit) ends the job cancelled in
 * the queue. The pool never heard of it, so only the queue's answer can tell it: its log
 * line and its metrics must say cancelled, as the row does, not succeeded.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('worker pool, a cancel accepted before the result commits', () => {
  it('logs and counts the job cancelled, as the queue recorded it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-cancel-commit-'));
    dirs.push(dir);
    const config = loadConfig({
      env: {},
      overrides: { dataDir: dir, dbPath: join(dir, 'runbox.db'), workers: 1 },
    });
    const queue = SqliteQueue.open(config);
    const lines: Array<Record<string, unknown>> = [];
    const logger = wrapPino(
      pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
              lines.push(JSON.parse(line) as Record<string, unknown>);
            }
            done();
          },
        }),
      ),
    );
    const metrics = new RunboxMetrics({ process: 'serve', workerId: 'w-test' });
    const [submitted] = await queue.submit([
      {
        spec: { runtime: 'shell', command: ['true'] },
        priority: 0,
        maxAttempts: 3,
        retryOnExitCodes: [],
      },
    ]);
    const id = submitted!.job.id;
    const executor: RecoverableExecutor = {
      // The container exited 0; the cancel reaches the queue before the result does,
      // not through this pool (as another node's cancel would).
      run: async () => {
        expect((await queue.cancel(id))!.outcome).toBe('requested');
        return validResult();
      },
      findContainers: async () => [],
      reattach: async () => validResult(),
      removeContainer: async () => {},
    };
    const pool = new WorkerPool({
      config,
      queue,
      executor,
      liveLogs: new LiveLogs(),
      pollMs: 20,
      logger,
      metrics,
    });
    await pool.start();
    try {
      for (let i = 0; i < 300 && !lines.some((l) => l.msg === 'job finished'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((await queue.get(id))!).toMatchObject({ status: 'cancelled', errorType: 'Cancelled' });
      expect(lines.filter((l) => l.job === id && l.msg === 'job finished')).toEqual([
        expect.objectContaining({ outcome: 'cancelled', error_type: 'Cancelled', exit_code: 0 }),
      ]);
      const finished = (await metrics.registry.getSingleMetric('runbox_jobs_finished_total')!.get())
        .values;
      expect(finished.map((v) => [v.labels.outcome, v.labels.error_type, v.value])).toEqual([
        ['cancelled', 'Cancelled', 1],
      ]);
    } finally {
      await pool.stop(1000);
      await queue.close();
    }
  });
});
