import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  api,
  openReadOnly,
  sleep,
  submitBatch,
  watchContainerStarts,
} from '../helpers/queueProbe.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * 1,000 queued no-op jobs (busybox `true`) drain completely at concurrency 2 through a
 * real `runbox serve`: every job succeeds on its first attempt, the engine started
 * exactly one container per job, never more than two ran at once, and nothing is left.
 * Takes a few minutes (about 6 jobs a second on a 2-core machine): `npm run test:chaos`.
 */

const JOBS = 1000;

describe('draining 1,000 queued jobs', () => {
  let dataDir: string;
  let server: RunboxProcess | null = null;

  afterAll(async () => {
    if (server) {
      server.kill('SIGKILL');
      await server.exited;
    }
    await expectNoLeftoverContainers(TEST_INSTANCE);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every job exactly once at concurrency 2', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-drain1000-'));
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(dataDir, { workers: 2 });
    server = await startServerProcess({ dataDir, configFile, workers: 2 });

    // All queued before the first finishes: one batch of 1,000 (the API's maximum).
    const started = Date.now();
    const jobs = await submitBatch(
      server.url,
      Array.from({ length: JOBS }, () => ({ runtime: 'shell', command: ['true'] })),
    );
    expect(new Set(jobs.map((j) => j.id)).size).toBe(JOBS);

    const db = openReadOnly(join(dataDir, 'runbox.db'));
    const byStatus = db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status');
    let maxRunning = 0;
    for (;;) {
      const counts = Object.fromEntries(
        (byStatus.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]),
      );
      maxRunning = Math.max(maxRunning, counts.running ?? 0);
      if ((counts.queued ?? 0) + (counts.running ?? 0) === 0) break;
      if (Date.now() - started > 800_000) {
        throw new Error(`not drained in time: ${JSON.stringify(counts)}`);
      }
      await sleep(20);
    }
    const tookS = (Date.now() - started) / 1000;
    console.log(`drained ${JOBS} jobs in ${tookS.toFixed(1)} s (${(JOBS / tookS).toFixed(1)}/s)`);
    expect(maxRunning).toBeLessThanOrEqual(2);

    const outcome = db
      .prepare('SELECT status, attempts, count(*) AS n FROM jobs GROUP BY status, attempts')
      .all();
    expect(outcome).toEqual([{ status: 'succeeded', attempts: 1, n: JOBS }]);
    db.close();

    const { body: metrics } = await fetch(new URL('/metrics', server.url)).then(async (r) => ({
      body: await r.text(),
    }));
    // prom-client adds the process and worker_id labels (in no promised order).
    expect(metrics).toMatch(
      new RegExp(`^runbox_jobs\\{[^}]*status="succeeded"[^}]*\\} ${JOBS}$`, 'm'),
    );
    expect(metrics).toMatch(/^runbox_jobs\{[^}]*status="queued"[^}]*\} 0$/m);
    expect(metrics).toMatch(
      new RegExp(`^runbox_job_run_seconds_count\\{[^}]*outcome="succeeded"[^}]*\\} ${JOBS}$`, 'm'),
    );

    const starts = await watch.stop();
    expect(starts.size).toBe(JOBS);
    for (const job of jobs) expect(starts.get(job.id), job.id).toEqual([1]);

    const health = await api(server.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;
  });
});
