import type { FastifyInstance } from 'fastify';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { activityView } from '../../src/api/activityView.js';
import { JobService, type JobQueue } from '../../src/api/jobService.js';
import { buildServer } from '../../src/api/server.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { testConfig } from '../helpers/testConfig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The API on a real port over a real SQLite queue whose status polls are counted. */
async function listening(): Promise<{
  app: FastifyInstance;
  port: number;
  polls: () => number;
  reads: () => number;
}> {
  const { config, cleanup } = testConfig({ limits: { minFreeBytes: 0 } });
  const queue = SqliteQueue.open(config);
  cleanups.push(() => {
    queue.close();
    cleanup();
  });
  let polls = 0;
  let reads = 0;
  const counted: JobQueue = new Proxy(queue, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name === 'statusOf') polls++;
      if (name === 'get') reads++;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  const app = await buildServer({
    config,
    jobs: new JobService(config, counted),
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
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return {
    app,
    port: (app.server.address() as AddressInfo).port,
    polls: () => polls,
    reads: () => reads,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('wait=true requests whose client goes away', () => {
  it('stop polling the queue when the connection closes, not when wait_seconds runs out', async () => {
    const { app, port, polls } = await listening();
    const created = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { runtime: 'shell', command: ['true'], run_at: '9999-01-01T00:00:00Z' },
    });
    const { id } = created.json<{ id: string }>();
    const body = JSON.stringify({
      runtime: 'shell',
      command: ['true'],
      run_at: '9999-01-01T00:00:00Z',
    });
    const requests = [
      `GET /v1/jobs/${id}?wait=true&wait_seconds=600 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      `GET /v1/jobs/${id}/brief?wait=true&wait_seconds=600 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      `POST /v1/jobs?wait=true&wait_seconds=600 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ];
    const sockets = Array.from({ length: 21 }, (_, i) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(requests[i % 3]!);
      return socket;
    });
    await sleep(800);
    // Twenty-one waiters poll every 200 ms at most: each is waiting.
    expect(polls()).toBeGreaterThan(40);
    for (const socket of sockets) socket.destroy();
    await sleep(400);
    const afterClose = polls();
    await sleep(1500);
    // Before: each went on polling the database for its 600 s with no one to answer
    // (a client retrying wait=true on a timeout left one more behind each time).
    expect(polls() - afterClose).toBe(0);
  });

  it('a brief wait on a final job reads the job once, as a plain read does', async () => {
    const { app, reads } = await listening();
    const created = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { runtime: 'shell', command: ['true'], run_at: '9999-01-01T00:00:00Z' },
    });
    const { id } = created.json<{ id: string }>();
    await app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    const before = reads();
    const brief = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/brief?wait=true` });
    expect(brief.statusCode).toBe(200);
    expect(brief.json<{ status: string }>().status).toBe('cancelled');
    // Before: waitFinal read the whole job (every input file with it), then brief read it again.
    expect(reads() - before).toBe(1);
  });
});
