import type { FastifyInstance, InjectOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import { activityView } from '../../src/api/activityView.js';
import { buildServer } from '../../src/api/server.js';
import type { Config } from '../../src/config.js';
import { EXIT_CODES, RunboxError } from '../../src/errors/index.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { ScheduleService } from '../../src/schedules/ScheduleService.js';
import { SqliteScheduleStore } from '../../src/schedules/sqlite/SqliteScheduleStore.js';
import { startRunbox } from '../../src/runbox.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * Every error path of the HTTP API, in-process through fastify's inject: the documented
 * status, the body {error: {type, message, field}}, and nothing written to the database.
 */

const BODY_LIMIT = 64 * 1024;
const GOOD = { runtime: 'shell', command: ['true'] };
const WELL_FORMED_UNKNOWN_ID = '01ZZZZZZZZZZZZZZZZZZZZZZZZ';

interface Harness {
  app: FastifyInstance;
  queue: SqliteQueue;
  metrics: RunboxMetrics;
  config: Readonly<Config>;
  cleanup: () => void;
}

async function harness(overrides: Parameters<typeof testConfig>[0] = {}): Promise<Harness> {
  const { config, cleanup } = testConfig({
    limits: { bodyBytes: BODY_LIMIT, minFreeBytes: 0 },
    ...overrides,
  });
  const queue = SqliteQueue.open(config);
  const store = await createFileBlobStore(config);
  const metrics = new RunboxMetrics({ process: 'serve', workerId: 'test' });
  const jobs = new JobService(config, queue);
  const app = await buildServer({
    config,
    jobs,
    schedules: new ScheduleService(new SqliteScheduleStore(queue.db), (body, prefix) =>
      jobs.prepare(body, prefix),
    ),
    // No job here ever runs: error paths only.
    runningLogs: { find: () => Promise.resolve(null) },
    store,
    system: {
      engineUp: () => true,
      queueUp: () => true,
      imagesMissing: () => [],
      diskLow: async () => false,
      activity: async () => activityView(await queue.activity()),
      workers: async () => [],
      queues: async () => [],
      metrics,
      runtimes: async () => [],
    },
  });
  return {
    app,
    queue,
    metrics,
    config,
    cleanup: () => {
      queue.close();
      cleanup();
    },
  };
}

function jobCount(queue: SqliteQueue): number {
  return (queue.db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
}

function errorOf(body: string): { type: string; message: string; field: string | null } {
  const parsed = JSON.parse(body) as {
    error: { type: string; message: string; field: string; request_id: string };
  };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['field', 'message', 'request_id', 'type']);
  expect(parsed.error.request_id.length).toBeGreaterThan(0);
  expect(parsed.error.message.length).toBeGreaterThan(0);
  return parsed.error;
}

describe('API error paths', () => {
  let h: Harness;
  let before: number;

  beforeAll(async () => {
    h = await harness();
    // One job exists, so "unknown job" is not just an empty table.
    const created = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: GOOD });
    expect(created.statusCode).toBe(201);
  });
  afterAll(async () => {
    await h.app.close();
    h.cleanup();
  });
  beforeEach(() => {
    before = jobCount(h.queue);
  });
  afterEach(() => {
    // A rejected request writes nothing.
    expect(jobCount(h.queue)).toBe(before);
  });

  async function expectError(
    request: InjectOptions,
    status: number,
    type: string,
    field: string | null,
  ): Promise<string> {
    const response = await h.app.inject(request);
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const error = errorOf(response.body);
    expect(error.type).toBe(type);
    if (field !== null) expect(error.field).toBe(field);
    return error.message;
  }

  it('rejects an invalid spec with 400 naming the field', async () => {
    const message = await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { runtime: 'cobol', command: ['x'] } },
      400,
      'InvalidSpec',
      'runtime',
    );
    expect(message).toContain('cobol');
    expect(message).toContain('shell');
  });

  it('rejects a wrongly typed nested field with 400 naming its path', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: { runtime: 'shell', script: { path: 'a.sh', content: 42 } },
      },
      400,
      'InvalidSpec',
      'script.content',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, timeout_seconds: -1 } },
      400,
      'InvalidSpec',
      'timeout_seconds',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, priority: 1.5 } },
      400,
      'InvalidSpec',
      'priority',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, run_at: 'next tuesday' } },
      400,
      'InvalidSpec',
      'run_at',
    );
  });

  it('rejects limits and image names the engine would refuse, instead of failing the job later', async () => {
    // Accepted, these failed every attempt as Internal (an engine error), retried as
    // infrastructure, instead of a 400 naming the field.
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, limits: { memory: 1e20 } } },
      400,
      'InvalidSpec',
      'limits.memory',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, limits: { memory: '99999999999g' } } },
      400,
      'InvalidSpec',
      'limits.memory',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, limits: { pids: 1e20 } } },
      400,
      'InvalidSpec',
      'limits.pids',
    );
    const message = await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: { image: 'Library/BusyBox:1', command: ['true'] },
      },
      400,
      'InvalidSpec',
      'image',
    );
    expect(message).toContain('lowercase');
    // The registry host and the tag may have capitals.
    for (const image of ['Registry.Example.com:5000/team/tool:V1', 'busybox:Latest']) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { image, command: ['true'] },
      });
      expect(response.statusCode, `${image}: ${response.body}`).toBe(201);
      before += 1;
    }
  });

  it('rejects a spec that fails only the semantic checks (path escape) with 400', async () => {
    const message = await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: { runtime: 'shell', script: { path: '../etc/passwd', content: 'x' } },
      },
      400,
      'InvalidSpec',
      'script.path',
    );
    expect(message).toContain('..');
  });

  it('rejects an unknown field with 400 naming it', async () => {
    const message = await expectError(
      { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, retries: 3 } },
      400,
      'InvalidSpec',
      'retries',
    );
    expect(message).toMatch(/not a known field/);
    expect(message).not.toMatch(/did you mean/);
  });

  it('names the field an unknown one most likely meant, in the body and the query', async () => {
    const cases: Array<[InjectOptions, string, string]> = [
      [
        { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, timeout: 5 } },
        'timeout',
        'timeout_seconds',
      ],
      [
        { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, maxAttempts: 3 } },
        'maxAttempts',
        'max_attempts',
      ],
      [
        { method: 'POST', url: '/v1/jobs', payload: { ...GOOD, limits: { memroy: '1g' } } },
        'limits.memroy',
        'memory',
      ],
      [
        {
          method: 'POST',
          url: '/v1/jobs/batch',
          payload: { jobs: [{ ...GOOD, secret_envs: [] }] },
        },
        'jobs.0.secret_envs',
        'secret_env',
      ],
      [{ method: 'GET', url: '/v1/jobs?limt=5' }, 'querystring.limt', 'limit'],
    ];
    for (const [request, field, meant] of cases) {
      const message = await expectError(request, 400, 'InvalidSpec', field);
      expect(message).toContain(`is not a known field; did you mean "${meant}"?`);
    }
  });

  it('rejects a body that is not an object with 400', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: '[1,2]',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'InvalidSpec',
      null,
    );
  });

  it('rejects an oversized body with 413', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: { ...GOOD, env: { BIG: 'x'.repeat(BODY_LIMIT + 1) } },
      },
      413,
      'PayloadTooLarge',
      null,
    );
  });

  it('rejects a body that is not JSON by content type with 415', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: 'runtime=shell',
        headers: { 'content-type': 'text/plain' },
      },
      415,
      'InvalidSpec',
      'content-type',
    );
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: 'runtime=shell',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      415,
      'InvalidSpec',
      'content-type',
    );
  });

  it('rejects malformed JSON and an empty JSON body with 400', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: '{"runtime": "shell",',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'InvalidSpec',
      '(body)',
    );
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: '',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'InvalidSpec',
      '(body)',
    );
  });

  it('rejects prototype poisoning with 400', async () => {
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs',
        payload: '{"runtime":"shell","command":["true"],"__proto__":{"x":1}}',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'InvalidSpec',
      null,
    );
  });

  it('answers 404 for an unknown job on every job route', async () => {
    for (const request of [
      { method: 'GET', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID}` },
      { method: 'GET', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID}?wait=true&wait_seconds=1` },
      { method: 'POST', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID}/cancel` },
      { method: 'GET', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID}/logs` },
      { method: 'GET', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID}/outputs` },
    ] as const) {
      await expectError(request, 404, 'NotFound', 'id');
    }
  });

  it('answers 400 for a malformed job id', async () => {
    for (const request of [
      { method: 'GET', url: '/v1/jobs/not%20an%20id' },
      { method: 'POST', url: '/v1/jobs/bad!id/cancel' },
      { method: 'GET', url: `/v1/jobs/${'a'.repeat(65)}` },
      // Past the router's default 100 characters: its own message, field url.
      { method: 'GET', url: `/v1/jobs/${'a'.repeat(101)}` },
      { method: 'GET', url: `/v1/jobs/${'a'.repeat(5000)}/logs` },
    ] as const) {
      const response = await h.app.inject(request);
      expect(response.statusCode, `${request.url}: ${response.body}`).toBe(400);
      const error = errorOf(response.body);
      expect(error.type).toBe('InvalidSpec');
      expect(error.field).toBe('params.id');
      expect(error.message.length).toBeLessThan(200);
    }
    // Quoted cut between characters: 200 emoji, and 10 kB through every job route.
    const emoji = encodeURIComponent('😀'.repeat(200));
    for (const url of [
      `/v1/jobs/${emoji}`,
      `/v1/jobs/${emoji}/logs`,
      `/v1/jobs/-${emoji}/cancel`,
    ]) {
      const response = await h.app.inject({ method: url.endsWith('cancel') ? 'POST' : 'GET', url });
      const error = errorOf(response.body);
      expect([response.statusCode, error.field]).toEqual([400, 'params.id']);
      // No lone surrogate: with the u flag a pair is one code point, \p{Cs} only a half.
      expect(error.message, error.message).not.toMatch(/\p{Cs}/u);
      expect(error.message.length).toBeLessThan(200);
    }
  });

  // Job ids are ULIDs, Crockford base32: any case names the job; a lower case id was 404.
  it('answers a job id in any case for the job as stored, on every job route', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: GOOD });
    const id = (JSON.parse(created.body) as { id: string }).id;
    const mixed = [...id].map((c, i) => (i % 2 ? c.toLowerCase() : c)).join('');
    for (const given of [id.toLowerCase(), mixed]) {
      for (const path of ['', '/brief', '?wait=true&wait_seconds=0']) {
        const answer = await h.app.inject({ method: 'GET', url: `/v1/jobs/${given}${path}` });
        expect(answer.statusCode, `${given}${path}: ${answer.body}`).toBe(200);
        expect((JSON.parse(answer.body) as { id: string }).id).toBe(id);
      }
      const outputs = await expectError(
        { method: 'GET', url: `/v1/jobs/${given}/outputs` },
        404,
        'NotFound',
        'id',
      );
      expect(outputs).toBe(`job ${id} has no outputs yet (status queued)`);
    }
    // Unknown in any case: 404 naming the id as it would be stored.
    const unknown = await expectError(
      { method: 'GET', url: `/v1/jobs/${WELL_FORMED_UNKNOWN_ID.toLowerCase()}` },
      404,
      'NotFound',
      'id',
    );
    expect(unknown).toBe(`no job ${WELL_FORMED_UNKNOWN_ID}`);
    const cancelled = await h.app.inject({ method: 'POST', url: `/v1/jobs/${mixed}/cancel` });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(JSON.parse(cancelled.body)).toMatchObject({ id, status: 'cancelled' });
    // The one job this case submitted is no rejected request's write.
    before = jobCount(h.queue);
  });

  it('answers 400 with the error body for a URL that does not decode', async () => {
    await expectError({ method: 'GET', url: '/v1/jobs/%E0%A4%A' }, 400, 'InvalidSpec', 'url');
    // The path is quoted cut: it was quoted whole, 16 kB of it if sent.
    const long = await expectError(
      { method: 'GET', url: `/v1/jobs/%E0%A4%A${'x'.repeat(10_000)}` },
      400,
      'InvalidSpec',
      'url',
    );
    expect(long).toBe(
      `"/v1/jobs/%E0%A4%A${'x'.repeat(32)}… (10017 characters) does not decode: ` +
        'a % must begin an escape of UTF-8 bytes (%XX)',
    );
  });

  it('quotes a Host or Origin it refuses cut, whatever its length', async () => {
    const host = await expectError(
      { method: 'GET', url: '/v1/jobs', headers: { host: `${'h'.repeat(10_000)}.example` } },
      421,
      'MisdirectedRequest',
      'host',
    );
    expect(host.length).toBeLessThan(300);
    expect(host).toContain('(10008 characters)');
    const origin = await expectError(
      { method: 'GET', url: '/v1/jobs', headers: { origin: `http://${'o'.repeat(10_000)}` } },
      403,
      'Forbidden',
      'origin',
    );
    expect(origin.length).toBeLessThan(300);
    expect(origin).toContain('(10007 characters)');
  });

  it('answers 404 with the error body for an unknown route', async () => {
    await expectError({ method: 'GET', url: '/v2/jobs' }, 404, 'NotFound', 'url');
  });

  it('answers 405 with Allow for a route asked with a method it does not take', async () => {
    await expectError({ method: 'DELETE', url: '/v1/jobs' }, 405, 'MethodNotAllowed', 'method');
  });

  // Seen: POST /v1/schedules/<10 kB name> answered a 10,424-byte message quoting it whole.
  it('quotes a long path in a 404 or 405 cut to its first characters and its length', async () => {
    const notTaken = await expectError(
      { method: 'PUT', url: `/v1/jobs/${'z'.repeat(10_240)}` },
      405,
      'MethodNotAllowed',
      'method',
    );
    expect(notTaken).toBe(
      `"/v1/jobs/${'z'.repeat(40)}… (10249 characters) does not take PUT; it takes GET, HEAD`,
    );
    const noRoute = await expectError(
      { method: 'GET', url: `/v1/nope/${'z'.repeat(10_240)}` },
      404,
      'NotFound',
      'url',
    );
    expect(noRoute).toBe(`no route GET "/v1/nope/${'z'.repeat(40)}… (10249 characters)`);
  });

  it('rejects bad query parameters with 400 naming them', async () => {
    const status = await expectError(
      { method: 'GET', url: '/v1/jobs?status=sleeping' },
      400,
      'InvalidSpec',
      'querystring.status',
    );
    // Seen: "expected union value (got "sleeping")" named no value that would do.
    expect(status).toBe(
      'querystring.status: expected one of "queued", "running", "succeeded", "failed", ' +
        '"cancelled" (got "sleeping")',
    );
    await expectError(
      { method: 'GET', url: '/v1/jobs?limit=0' },
      400,
      'InvalidSpec',
      'querystring.limit',
    );
    // A cursor is a job id (a ULID): anything else, tampered or made up, is refused
    // rather than answered with some other page. An empty one too, as GET /v1/schedules
    // refuses it: a client sending `cursor=${next ?? ''}` would read page one forever.
    for (const cursor of [
      '',
      '%27%20OR%201',
      'garbage',
      `${WELL_FORMED_UNKNOWN_ID}x`,
      WELL_FORMED_UNKNOWN_ID.toLowerCase(),
      '01ZZZZZZZZZZZZZZZZZZZZZZZU',
    ]) {
      await expectError(
        { method: 'GET', url: `/v1/jobs?cursor=${cursor}` },
        400,
        'InvalidSpec',
        'cursor',
      );
    }
    const page = await h.app.inject({
      method: 'GET',
      url: `/v1/jobs?cursor=${WELL_FORMED_UNKNOWN_ID}`,
    });
    expect(page.statusCode, page.body).toBe(200);
    await expectError(
      { method: 'POST', url: '/v1/jobs?wait=true&wait_seconds=601', payload: GOOD },
      400,
      'InvalidSpec',
      'querystring.wait_seconds',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs?sync=1', payload: GOOD },
      400,
      'InvalidSpec',
      'querystring.sync',
    );
  });

  it('rejects a whole batch when one job is bad, naming jobs.N.field, writing none', async () => {
    const message = await expectError(
      {
        method: 'POST',
        url: '/v1/jobs/batch',
        payload: { jobs: [GOOD, GOOD, { runtime: 'cobol', command: ['x'] }, GOOD] },
      },
      400,
      'InvalidSpec',
      'jobs.2.runtime',
    );
    expect(message).toContain('cobol');
    await expectError(
      {
        method: 'POST',
        url: '/v1/jobs/batch',
        payload: { jobs: [GOOD, { ...GOOD, colour: 'red' }] },
      },
      400,
      'InvalidSpec',
      'jobs.1.colour',
    );
    await expectError(
      { method: 'POST', url: '/v1/jobs/batch', payload: { jobs: [] } },
      400,
      'InvalidSpec',
      'jobs',
    );
    // Before: "(got [{\"runtime\":\"shell\",\"command\":[\"true\"]},{\"runtime\":\"shell\",\")",
    // the first 60 characters of the array cut mid-string.
    const tooMany = await expectError(
      { method: 'POST', url: '/v1/jobs/batch', payload: { jobs: Array(1001).fill(GOOD) } },
      400,
      'InvalidSpec',
      'jobs',
    );
    expect(tooMany).toBe(
      'jobs: expected array length to be less or equal to 1000 (got an array of 1001 items)',
    );
  });
});

describe('API success paths the error tests lean on', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.app.close();
    h.cleanup();
  });

  it('a valid batch is stored whole and answers 201 with every job', async () => {
    const before = jobCount(h.queue);
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      payload: { jobs: [GOOD, { ...GOOD, priority: 5 }, GOOD] },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json<{ jobs: Array<{ id: string; created: boolean }> }>();
    expect(body.jobs).toHaveLength(3);
    expect(body.jobs.every((j) => j.created)).toBe(true);
    expect(jobCount(h.queue)).toBe(before + 3);
  });

  it('wait=true is bounded: with no worker it answers the queued job after wait_seconds', async () => {
    const started = Date.now();
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs?wait=true&wait_seconds=0.5',
      payload: GOOD,
    });
    const elapsed = Date.now() - started;
    expect(response.statusCode).toBe(201);
    expect(response.json<{ status: string }>().status).toBe('queued');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(5000);
  });

  it('counts a length limit in characters, as the document’s maxLength does: 200 emoji are one key', async () => {
    // JSON Schema counts code points, so a client generated from the document passed 101
    // to 200 emoji that the server refused for 202 to 400 UTF-16 units.
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>();
    expect(doc.components.schemas.SubmitRequest?.properties.idempotency_key).toEqual({
      type: 'string',
      minLength: 1,
      maxLength: 200,
    });
    const key = '😀'.repeat(200);
    const accepted = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, idempotency_key: key },
    });
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json<{ idempotency_key: string }>().idempotency_key).toBe(key);
    const before = jobCount(h.queue);
    const refused = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, idempotency_key: `${key}😀` },
    });
    expect(refused.statusCode).toBe(400);
    expect(errorOf(refused.body)).toMatchObject({
      type: 'InvalidSpec',
      field: 'idempotency_key',
      message: `idempotency_key: expected string length less or equal to 200 (got "${'😀'.repeat(24)}… (201 characters))`,
    });
    expect(jobCount(h.queue)).toBe(before);
    // A query value too: 64 emoji are within a cursor's 64 and fail only as a cursor.
    const cursor = await h.app.inject({
      method: 'GET',
      url: `/v1/jobs?cursor=${encodeURIComponent('😀'.repeat(64))}`,
    });
    expect(errorOf(cursor.body).message).toContain('is not a cursor this server gave out');
    // And a schedule's cron: 200 emoji are within its length and refused as cron.
    const schedule = (cron: string) =>
      h.app.inject({
        method: 'POST',
        url: '/v1/schedules',
        payload: { name: 'e', cron, job: GOOD },
      });
    const notCron = errorOf((await schedule('😀'.repeat(200))).body);
    expect(notCron.field).toBe('cron');
    expect(notCron.message).not.toContain('expected string length');
    expect(errorOf((await schedule('😀'.repeat(201))).body)).toMatchObject({
      field: 'cron',
      message: `cron: expected string length less or equal to 200 (got "${'😀'.repeat(24)}… (201 characters))`,
    });
  });

  it('a repeated idempotency key answers 200 with the same job and writes nothing', async () => {
    const first = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, idempotency_key: 'nightly-2026-01-01' },
    });
    expect(first.statusCode).toBe(201);
    const before = jobCount(h.queue);
    // The same body with its keys in another order is the same request.
    const reordered = Object.fromEntries(
      Object.entries({ ...GOOD, idempotency_key: 'nightly-2026-01-01' }).reverse(),
    );
    const again = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: reordered });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    expect(jobCount(h.queue)).toBe(before);
  });

  it('a repeated idempotency key with only another secret value is the same request', async () => {
    // README "Secrets at rest": the idempotency hash leaves secret values out, so a
    // client that rotated a secret between retries still gets its job; a plain value
    // or the set of secret names still counts.
    const body = (secret: string, extra: Record<string, unknown> = {}) => ({
      ...GOOD,
      env: { TOKEN: secret, PLAIN: 'p' },
      secret_env: ['TOKEN'],
      idempotency_key: 'rotated-ключ',
      ...extra,
    });
    const first = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: body('old-ü') });
    expect(first.statusCode).toBe(201);
    const before = jobCount(h.queue);
    const rotated = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: body('') });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    for (const other of [
      body('old-ü', { env: { TOKEN: 'old-ü', PLAIN: 'q' } }),
      body('old-ü', { secret_env: ['TOKEN', 'PLAIN'] }),
    ]) {
      const refused = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: other });
      expect(refused.statusCode).toBe(409);
    }
    expect(jobCount(h.queue)).toBe(before);
  });

  it('a repeated idempotency key with another body is refused with 409 naming the key', async () => {
    const first = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, idempotency_key: 'nightly-2026-01-02' },
    });
    expect(first.statusCode).toBe(201);
    const before = jobCount(h.queue);
    const refused = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, command: ['false'], idempotency_key: 'nightly-2026-01-02' },
    });
    expect(refused.statusCode).toBe(409);
    const error = errorOf(refused.body);
    expect(error).toMatchObject({ type: 'Conflict', field: 'idempotency_key' });
    const message = error.message;
    expect(message).toContain('nightly-2026-01-02');
    expect(message).toContain(first.json<{ id: string }>().id);
    expect(jobCount(h.queue)).toBe(before);
  });

  it('a batch whose job repeats a key with another body is 409 naming that job, as the document lists', async () => {
    const first = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { ...GOOD, idempotency_key: 'nightly-2026-01-03' },
    });
    expect(first.statusCode).toBe(201);
    const before = jobCount(h.queue);
    const refused = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      payload: {
        jobs: [GOOD, GOOD, { ...GOOD, command: ['false'], idempotency_key: 'nightly-2026-01-03' }],
      },
    });
    expect(refused.statusCode).toBe(409);
    // It said "idempotency_key", as for one job: which of up to 1,000 was left to guess,
    // and the document listed no 409 for the batch, so the generated client had no type.
    expect(errorOf(refused.body)).toMatchObject({
      type: 'Conflict',
      field: 'jobs.2.idempotency_key',
    });
    expect(jobCount(h.queue)).toBe(before);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    expect(Object.keys(doc.paths['/v1/jobs/batch']!.post!.responses)).toContain('409');
  });

  it('cancelling a queued job ends it cancelled at once; cancelling it again is 409 and changes nothing', async () => {
    const { id } = (await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: GOOD })).json<{
      id: string;
    }>();
    const cancelled = await h.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    const job = cancelled.json<{ status: string; error: { type: string }; finished_at: string }>();
    expect(job.status).toBe('cancelled');
    expect(job.error.type).toBe('Cancelled');
    expect(job.finished_at).not.toBeNull();
    const again = await h.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again.body)).toMatchObject({ type: 'Conflict', field: 'id' });
    const after = await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
    expect(after.json<{ status: string; finished_at: string }>()).toMatchObject({
      status: 'cancelled',
      finished_at: job.finished_at,
    });
  });
});

describe('API with a token', () => {
  let h: Harness;
  const TOKEN = 's3cret-token-for-tests';
  beforeAll(async () => {
    h = await harness({ token: TOKEN });
  });
  afterAll(async () => {
    await h.app.close();
    h.cleanup();
  });

  it('answers 401 without the token or with a wrong one, and writes nothing', async () => {
    const before = jobCount(h.queue);
    for (const headers of [
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      for (const request of [
        { method: 'POST', url: '/v1/jobs', payload: GOOD, headers },
        { method: 'GET', url: '/v1/jobs', headers },
        { method: 'GET', url: '/metrics', headers },
        { method: 'GET', url: '/nope', headers },
      ] as const) {
        const response = await h.app.inject(request);
        expect(response.statusCode, `${request.method} ${request.url}`).toBe(401);
        const error = errorOf(response.body);
        expect(error.type).toBe('Unauthorized');
        expect(error.message).toContain('RUNBOX_TOKEN');
        // The answer must never echo the expected token.
        expect(response.body).not.toContain(TOKEN);
      }
    }
    expect(jobCount(h.queue)).toBe(before);
  });

  it('accepts the right token', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const created = await h.app.inject({ method: 'POST', url: '/v1/jobs', payload: GOOD, headers });
    expect(created.statusCode).toBe(201);
    const listed = await h.app.inject({ method: 'GET', url: '/v1/jobs', headers });
    expect(listed.statusCode).toBe(200);
  });

  it('leaves /healthz open', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ status: string }>().status).toBe('ok');
  });
});

describe('binding', () => {
  it('refuses to start on a non-loopback address without a token (EX_CONFIG, says how)', async () => {
    const { config, cleanup } = testConfig({ host: '0.0.0.0', port: 0 });
    try {
      const error = await startRunbox(config, { api: true, workers: 0 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RunboxError);
      const runboxError = error as RunboxError;
      expect(runboxError.type).toBe('InvalidConfig');
      expect(EXIT_CODES[runboxError.type]).toBe(78);
      expect(runboxError.message).toContain('RUNBOX_TOKEN');
    } finally {
      cleanup();
    }
  });
});

describe("requests Node's HTTP parser refuses, over a real socket", () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await harness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await h.app.close();
    h.cleanup();
  });

  const raw = (request: Buffer) =>
    new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.end(request));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString();
        const split = text.indexOf('\r\n\r\n');
        resolve({
          status: Number(text.split(' ')[1]),
          headers: text.slice(0, split),
          body: text.slice(split + 4),
        });
      });
      socket.on('error', reject);
    });

  it.each([
    [
      'a raw non-ASCII byte in the query',
      'GET /v1/jobs?status=\xc3\xbc HTTP/1.1\r\nHost: localhost\r\n\r\n',
      400,
      'InvalidSpec',
      'request',
    ],
    [
      'a control character in a header',
      'GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nX-A: a\x01b\r\n\r\n',
      400,
      'InvalidSpec',
      'request',
    ],
    ['not HTTP at all', 'GARBAGE\r\n\r\n', 400, 'InvalidSpec', 'request'],
    [
      'headers over the size Node reads',
      `GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      431,
      'PayloadTooLarge',
      'headers',
    ],
  ])(
    "%s: the documented error body, not fastify's own",
    async (_, request, status, type, field) => {
      // Before: {"error":"Bad Request","message":"Client Error","statusCode":400}.
      const answer = await raw(Buffer.from(request, 'latin1'));
      expect(answer.status, answer.body).toBe(status);
      const body = JSON.parse(answer.body) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type, field });
      expect(body.error['message']).toEqual(expect.any(String));
      expect(answer.headers).toContain(`x-request-id: ${String(body.error['request_id'])}`);
      expect(answer.headers).toContain('X-Content-Type-Options: nosniff');
    },
  );

  // Seen: these answers were in the log but not in runbox_http_request_duration_seconds,
  // so an operator's error ratio left out every 400, 408 and 431 the parser answered.
  it('counts each of those answers in the request histogram', async () => {
    const counts = (await h.metrics.text())
      .split('\n')
      .filter((l) => l.startsWith('runbox_http_request_duration_seconds_count{'))
      .filter((l) => l.includes('method="(unparsed)",route="(no route)"'))
      .map((l) => l.replace(/^.*status="(\d+)"\} /, '$1:'));
    expect(counts.sort()).toEqual(['400:3', '431:1']);
  });
});
