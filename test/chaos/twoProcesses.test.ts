import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from '../../src/queue/sqlite/migrations/index.js';
import {
  http,
  integrityCheck,
  listAllJobs,
  openDbReadonly,
  percentile,
  report,
  round1,
  shellJob,
  sleep,
  tempDataDir,
  waitAllFinal,
  watchContainers,
} from '../helpers/chaosKit.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * Issue 7, "Two runbox processes": `runbox serve` and a separate `runbox worker` on one
 * database under load, and pairs started at the same instant on a fresh file.
 */
const JOBS = Number(process.env.CHAOS_TWO_PROCS_JOBS ?? 150);
const CLIENTS = 8;
const BUSY = /SQLITE_BUSY|database is locked/i;

describe('two processes on one database', () => {
  const cleanups: Array<() => void> = [];
  const procs: RunboxProcess[] = [];

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await expectNoLeftoverContainers(TEST_INSTANCE).catch(() => {});
    for (const c of cleanups) c();
  });

  it('never gives one job to two workers and never lets SQLITE_BUSY reach a client', async () => {
    const started = Date.now();
    const data = tempDataDir('twoprocs');
    cleanups.push(data.cleanup);
    const configFile = writeTestConfig(data.dir, { limits: { minFreeBytes: 1 } });
    const containers = await watchContainers();
    const api = await startServerProcess({ dataDir: data.dir, configFile, workers: 2 });
    const worker = await startServerProcess({
      dataDir: data.dir,
      configFile,
      command: 'worker',
      workers: 2,
    });
    procs.push(api, worker);
    const url = api.url;

    // Clients submit one job at a time and read while both processes claim and record.
    const statuses = new Map<number | string, number>();
    const latencies: number[] = [];
    const count = (status: number | string) =>
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        while (next < JOBS) {
          const n = next++;
          try {
            const submitted = await http(url, '/v1/jobs', {
              body: shellJob('echo "$TAG" > "$RUNBOX_OUTPUTS/marker"', { env: { TAG: `job${n}` } }),
            });
            count(submitted.status);
            latencies.push(submitted.ms);
            if (submitted.status === 201) ids.push(submitted.json.id as string);
            const read = await http(
              url,
              client % 2 === 0 ? '/v1/jobs?limit=50' : `/v1/jobs/${ids[ids.length - 1]}`,
            );
            count(read.status);
          } catch (error) {
            count((error as Error).message.slice(0, 40));
          }
        }
      }),
    );
    const final = await waitAllFinal(url, ids, 600_000);
    await sleep(500);
    // Jobs the serve process recorded itself; the worker process recorded the rest.
    const metrics = (await http(url, '/metrics')).text;
    // Finished jobs this process recorded, summed over outcomes (prom-client counters).
    const byApi = [...metrics.matchAll(/^runbox_jobs_finished_total\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    const apiStderr = api.stderr();
    const workerStderr = worker.stderr();
    for (const p of procs) p.kill('SIGTERM');
    for (const p of procs) expect(await p.exited).toBe(0);
    procs.length = 0;
    const events = await containers.stop();

    // Each job ran in exactly one container, never two at once.
    const perJob = new Map<string, number>();
    for (const e of events.filter((x) => x.action === 'create'))
      perJob.set(e.job, (perJob.get(e.job) ?? 0) + 1);
    const heldTwice = [...perJob].filter(([, n]) => n > 1).length;
    const jobs = [...final.values()];
    const retried = jobs.filter((j) => j.attempts !== 1).length;
    const server5xx = [...statuses].filter(([s]) => typeof s !== 'number' || s >= 500);

    report('two-processes', {
      jobs: JOBS,
      clients: CLIENTS,
      requestsTried: [...statuses.values()].reduce((a, b) => a + b, 0),
      statuses: Object.fromEntries(statuses),
      submitP99Ms: round1(percentile(latencies, 99)),
      containers: events.filter((x) => x.action === 'create').length,
      recordedByServe: byApi,
      recordedByWorkerProcess: JOBS - byApi,
      jobsHeldByTwoWorkers: heldTwice,
      jobsWithMoreThanOneAttempt: retried,
      busyInLogs: (apiStderr + workerStderr).match(new RegExp(BUSY, 'gi'))?.length ?? 0,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(server5xx).toEqual([]);
    expect(ids.length).toBe(JOBS);
    expect(jobs.filter((j) => j.status !== 'succeeded')).toEqual([]);
    expect(heldTwice).toBe(0);
    expect(byApi).toBeGreaterThan(0);
    expect(byApi).toBeLessThan(JOBS);
    expect(retried).toBe(0);
    expect(perJob.size).toBe(JOBS);
    expect(apiStderr + workerStderr).not.toMatch(BUSY);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    expect(integrityCheck(join(data.dir, 'runbox.db'))).toBe('ok');
  });

  it('migrates a fresh file once when two processes open it at the same moment', async () => {
    const ROUNDS = 5;
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const data = tempDataDir(`fresh${round}`);
      cleanups.push(data.cleanup);
      const configFile = writeTestConfig(data.dir, { limits: { minFreeBytes: 1 } });
      const pair = await Promise.all([
        startServerProcess({ dataDir: data.dir, configFile, workers: 1 }),
        startServerProcess({ dataDir: data.dir, configFile, command: 'worker', workers: 1 }),
      ]);
      procs.push(...pair);
      // Both answer: the API process takes a job, and either may run it.
      const job = await http(pair[0].url, '/v1/jobs?wait=true&wait_seconds=60', {
        body: shellJob('true'),
      });
      expect(job.status).toBe(201);
      expect(job.json.status).toBe('succeeded');
      expect((await listAllJobs(pair[0].url)).length).toBe(1);
      const stderr = pair.map((p) => p.stderr()).join('\n');
      for (const p of pair) p.kill('SIGTERM');
      for (const p of pair) expect(await p.exited).toBe(0);
      procs.length = 0;

      const db = openDbReadonly(join(data.dir, 'runbox.db'));
      const versions = db
        .prepare("SELECT value FROM meta WHERE key = 'schema_version'")
        .all() as Array<{ value: string }>;
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all() as Array<{ name: string }>;
      const workers = db.prepare('SELECT count(*) AS n FROM workers').get() as { n: number };
      db.close();
      expect(versions).toEqual([{ value: String(LATEST_SCHEMA_VERSION) }]);
      expect(tables.map((t) => t.name)).toEqual([
        'blobs',
        'job_blobs',
        // A job's input files, apart from its row (migration 011).
        'job_inputs',
        'jobs',
        'meta',
        'schedules',
        // SQLite's own, for webhook_deliveries' AUTOINCREMENT (migration 008).
        'sqlite_sequence',
        'webhook_attempts',
        'webhook_deliveries',
        'workers',
      ]);
      expect(workers.n).toBe(2);
      expect(stderr).not.toMatch(BUSY);
      expect(stderr).not.toMatch(/already exists/i);
      outcomes.push(`v${versions[0]!.value}`);
    }
    report('two-processes-fresh-file', {
      rounds: ROUNDS,
      schemaVersions: outcomes,
      migrationsRecordedOnce: true,
    });
  });
});
