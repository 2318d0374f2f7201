import { afterAll, describe, expect, it } from 'vitest';
import { activityView } from '../../src/api/activityView.js';
import { JobService } from '../../src/api/jobService.js';
import { buildServer } from '../../src/api/server.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { PostgresQueue } from '../../src/queue/postgres/PostgresQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { freshDatabase, sqlOn, type TestDatabase } from '../helpers/postgres.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * A queue backend with no webhook/schedule stores (createHookStores gives null; every
 * built-in backend has them now, so a PostgresQueue stands in for a future one): nothing
 * that needs them is accepted and then silently dropped.
 */
const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const db = await freshDatabase('runbox_nohooks');
  cleanups.push(() => db.drop());
  return db;
}

async function server(db: TestDatabase) {
  const { config, cleanup } = testConfig({
    limits: { minFreeBytes: 0 },
    queue: { kind: 'postgres', url: db.url },
  });
  cleanups.push(cleanup);
  const queue = await PostgresQueue.open(db.url, config);
  cleanups.push(() => queue.close());
  const app = await buildServer({
    config,
    // As runbox.ts wires a queue whose createHookStores gave null.
    jobs: new JobService(config, queue, {}, false),
    runningLogs: { find: () => Promise.resolve(null) },
    store: await createFileBlobStore(config),
    system: {
      engineUp: () => true,
      queueUp: () => true,
      imagesMissing: () => [],
      diskLow: async () => false,
      activity: async () => activityView(await queue.activity()),
      workers: async () => [],
      queues: async () => [],
      metrics: new RunboxMetrics({ process: 'serve', workerId: 'test' }),
      runtimes: async () => [],
    },
    hooksMissingOn: 'postgres',
  });
  cleanups.push(() => app.close());
  return app;
}

const jobCount = async (db: TestDatabase) =>
  Number((await sqlOn<{ n: string }>(db.url, 'SELECT count(*) AS n FROM runbox.jobs'))[0]!.n);

describe('PostgreSQL queue without hook stores', () => {
  it('refuses a job naming webhook_url with 400 on webhook_url, and stores nothing', async () => {
    const db = await database();
    const app = await server(db);
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: {
        runtime: 'shell',
        command: ['echo', 'ü'],
        webhook_url: 'https://hooks.example.com/ünïcode',
      },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ type: 'InvalidSpec', field: 'webhook_url' });
    expect(refused.json().error.message).toContain('no webhook deliveries yet');
    expect(await jobCount(db)).toBe(0);
    // The same job without the URL is taken: only the webhook is refused.
    const taken = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { runtime: 'shell', command: ['echo', 'ü'] },
    });
    expect(taken.statusCode).toBe(201);
    expect(await jobCount(db)).toBe(1);
  });

  it('answers /v1/schedules with a typed NotFound naming the backend', async () => {
    const db = await database();
    const app = await server(db);
    for (const [method, url] of [
      ['GET', '/v1/schedules'],
      ['POST', '/v1/schedules'],
      ['GET', '/v1/schedules/nightly-ü'],
      ['DELETE', '/v1/schedules/nightly'],
    ] as const) {
      const answer = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined });
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
      expect(answer.json().error).toMatchObject({ type: 'NotFound', field: 'schedules' });
      expect(answer.json().error.message).toContain('postgres queue backend has no schedules');
    }
    // Not part of the documented API of this server.
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(Object.keys(doc.json().paths as object)).not.toContain('/v1/schedules');
  });
});
