import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobService } from '../../src/api/jobService.js';
import { activityView } from '../../src/api/activityView.js';
import { buildServer } from '../../src/api/server.js';
import { createLogger } from '../../src/log.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import {
  CLIENT_DIR,
  clientTypes,
  committedForm,
  servedDocument,
  type OpenApiDocument,
} from '../helpers/openapi.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * The OpenAPI document is a contract for clients: a real linter (Redocly's recommended
 * rules) and a real JSON Schema validator (ajv, draft 2020-12 as OpenAPI 3.1 uses) read
 * it, and the client package's committed copy and generated types must match it.
 */

const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

describe('the OpenAPI document', () => {
  let doc: OpenApiDocument;
  beforeAll(async () => {
    doc = await servedDocument();
  });

  it("passes Redocly's recommended rules", async () => {
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: '/openapi.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    const found = problems
      .map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`)
      // operation-4xx-response stays on for every other route. These three take no
      // input and need no token (a probe, the document itself and the docs page), so
      // there is no client error they could answer; inventing one would make the
      // document lie to satisfy the rule.
      .filter(
        (line) =>
          !/^warn operation-4xx-response #\/paths\/~1(healthz|openapi\.json|docs)\/get\/responses:/.test(
            line,
          ),
      );
    expect(found).toEqual([]);
  });

  it('gives every operation a unique operationId, a summary, a tag and a typed 2xx answer', async () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const where = `${method.toUpperCase()} ${path}`;
        const operation = op as {
          operationId: string;
          summary: string;
          tags: string[];
          responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
        };
        expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(operation.operationId), `${where}: duplicate operationId`).toBe(false);
        ids.add(operation.operationId);
        expect(operation.summary, where).toBeTruthy();
        expect(operation.tags, where).toHaveLength(1);
        const ok = Object.entries(operation.responses).filter(([s]) => s.startsWith('2'));
        expect(ok.length, where).toBeGreaterThan(0);
        for (const [status, answer] of ok) {
          // 204 No Content has no body to type (the session routes answer it).
          if (status === '204') {
            expect(answer.content, `${where} ${status}`).toBeUndefined();
            continue;
          }
          const media = Object.values(answer.content ?? {});
          expect(media.length, `${where} ${status}`).toBe(1);
          expect(media[0]!.schema, `${where} ${status}`).toBeDefined();
        }
      }
    }
    expect(ids).toContain('getOutputFile');
  });

  it('names the output path parameter {path}, and declares text and zstd answers with their real types', async () => {
    const file = doc.paths['/v1/jobs/{id}/outputs/{path}']!.get as {
      parameters: Array<{ name: string; in: string }>;
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    expect(file.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual([
      'id',
      'path',
    ]);
    expect(Object.keys(file.responses['200']!.content!)).toEqual(['application/octet-stream']);
    expect(file.responses['304']!.content).toBeUndefined();
    const logs = doc.paths['/v1/jobs/{id}/logs']!.get as typeof file;
    // The charset is said per answer: utf-8 only for a stored log that is UTF-8.
    expect(Object.keys(logs.responses['200']!.content!)).toEqual(['text/plain']);
    expect(Object.keys(logs.responses)).toEqual(expect.arrayContaining(['206', '304', '416']));
    const archive = doc.paths['/v1/jobs/{id}/outputs.tar.zst']!.get as typeof file;
    expect(Object.keys(archive.responses['200']!.content!)).toEqual(['application/zstd']);
    const metrics = doc.paths['/metrics']!.get as typeof file;
    expect(Object.keys(metrics.responses['200']!.content!)[0]).toMatch(
      /^text\/plain; version=0\.0\.4/,
    );
  });

  // Seen: the {name} of /v1/schedules/{name} documented 200 characters, a name has 64.
  it('documents a schedule name in a path as it documents one in a body: 1 to 64 characters', async () => {
    const { schemas } = doc['components'] as { schemas: Record<string, unknown> };
    const body = (schemas['ScheduleRequest'] as { properties: { name: unknown } }).properties.name;
    expect(body).toMatchObject({ minLength: 1, maxLength: 64 });
    const paths = Object.entries(doc.paths).filter(([path]) => path.includes('{name}'));
    expect(paths.map(([path]) => path)).toContain('/v1/schedules/{name}');
    for (const [path, item] of paths) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const name = (
          op as { parameters: Array<{ name: string; in: string; schema: unknown }> }
        ).parameters.find((p) => p.in === 'path' && p.name === 'name');
        expect(name?.schema, `${method.toUpperCase()} ${path}`).toMatchObject({
          minLength: 1,
          maxLength: 64,
        });
      }
    }
  });

  it('applies bearer security to every route but the open ones, and documents one error body', async () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    const open = Object.entries(doc.paths)
      .filter(([, item]) => Array.isArray((item.get as { security?: unknown[] })?.security))
      .map(([path]) => path)
      .sort();
    expect(open).toEqual(['/', '/docs', '/healthz', '/openapi.json']);
    // Seen: the description said every route but /healthz needs the token, while the
    // page, the reference and the login are open; it now names each open path.
    for (const path of [...open, '/v1/session']) {
      expect((doc.info as { description: string }).description, path).toContain(`\`${path}\``);
    }
    const submit = doc.paths['/v1/jobs']!.post as {
      responses: Record<string, { content: { 'application/json': { schema: unknown } } }>;
    };
    for (const status of ['400', '401', '413', '415', '500', '507'])
      expect(submit.responses[status]!.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
  });

  it('compiles every schema in it with ajv (draft 2020-12, formats checked)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ ...doc, $id: 'runbox:openapi' });
    let compiled = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const responses = (op as { responses: Record<string, { content?: object }> }).responses;
        for (const [status, answer] of Object.entries(responses)) {
          for (const mediaType of Object.keys(answer.content ?? {})) {
            const pointer = ['paths', path, method, 'responses', status, 'content', mediaType]
              .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'))
              .join('/');
            expect(() => ajv.compile({ $ref: `runbox:openapi#/${pointer}/schema` })).not.toThrow();
            compiled++;
          }
        }
      }
    }
    expect(compiled).toBeGreaterThan(40);
  });

  it('is what the published client was generated from (run `npx tsx scripts/gen-client.ts` after an API change)', async () => {
    expect(readFileSync(join(CLIENT_DIR, 'openapi.json'), 'utf8')).toBe(committedForm(doc));
    expect(readFileSync(join(CLIENT_DIR, 'src/schema.d.ts'), 'utf8')).toBe(await clientTypes(doc));
  });
});

describe('request ids, error bodies and request logs', () => {
  const TOKEN = 'tok-9f8e7d6c5b4a-never-logged';
  async function harness(minFreeBytes = 0) {
    const lines: string[] = [];
    const { config, cleanup } = testConfig({ token: TOKEN, limits: { minFreeBytes } });
    const queue = SqliteQueue.open(config);
    const metrics = new RunboxMetrics({ process: 'serve', workerId: 'test' });
    // One log for the request lines and the job lines, as serve has.
    const log = createLogger('info', (line) => lines.push(line));
    const app = await buildServer({
      config,
      jobs: new JobService(config, queue, { log }),
      runningLogs: { find: () => Promise.resolve(null) },
      store: await createFileBlobStore(config),
      logger: log,
      system: {
        engineUp: () => true,
        queueUp: () => true,
        workers: async () => [],
        queues: async () => [],
        metrics,
        runtimes: async () => [],
        imagesMissing: () => [],
        diskLow: async () => false,
        activity: async () => activityView(await queue.activity()),
      },
    });
    return { app, queue, lines, metrics, cleanup };
  }
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('keeps a plain incoming x-request-id, replaces a hostile one, and puts it in error bodies and log lines', async () => {
    const h = await harness();
    try {
      const kept = await h.app.inject({
        method: 'GET',
        url: '/v1/jobs/01ZZZZZZZZZZZZZZZZZZZZZZZZ',
        headers: { ...auth, 'x-request-id': 'trace.42:abc-DEF_9' },
      });
      expect(kept.statusCode).toBe(404);
      expect(kept.headers['x-request-id']).toBe('trace.42:abc-DEF_9');
      expect(kept.json<{ error: { request_id: string } }>().error.request_id).toBe(
        'trace.42:abc-DEF_9',
      );
      for (const hostile of ['has space', 'x'.repeat(129), 'new\u00e9line', '']) {
        const answer = await h.app.inject({
          method: 'GET',
          url: '/v1/jobs',
          headers: { ...auth, 'x-request-id': hostile },
        });
        expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      }
      const line = h.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.request_id === 'trace.42:abc-DEF_9' && l.msg === 'request');
      expect(line).toMatchObject({
        level: 'info',
        method: 'GET',
        route: '/v1/jobs/:id',
        status: 404,
      });
      expect(typeof line!.ms).toBe('number');
      expect(typeof line!.time).toBe('string');
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  // Seen: the router answers these itself (fastify's frameworkErrors), past every hook: no
  // request line, no runbox_http_request_duration_seconds sample, no nosniff.
  it('logs, counts and marks nosniff on a URL the router refuses before any route', async () => {
    const h = await harness();
    try {
      for (const url of ['/v1/jobs/%E0%A4%A', '/v1/jobs/%FF/logs']) {
        const answer = await h.app.inject({ method: 'GET', url });
        expect(answer.statusCode, url).toBe(400);
        expect(answer.headers['x-content-type-options'], url).toBe('nosniff');
        const id = answer.headers['x-request-id'];
        const line = h.lines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.request_id === id && l.msg === 'request');
        expect(line, url).toMatchObject({
          level: 'info',
          method: 'GET',
          route: '(no route)',
          url,
          status: 400,
        });
        expect(typeof line!.ms).toBe('number');
      }
      const counted = (await h.metrics.text())
        .split('\n')
        .find(
          (l) =>
            l.startsWith('runbox_http_request_duration_seconds_count{') &&
            l.includes('route="(no route)",status="400"'),
        );
      expect(counted).toMatch(/ 2$/);
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  it('logs a 500 with its stack under the request id, and never logs the token', async () => {
    const h = await harness();
    try {
      // A closed database makes every read throw: the server's own failure, a 500.
      h.queue.close();
      const answer = await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: auth });
      expect(answer.statusCode).toBe(500);
      const id = answer.headers['x-request-id'];
      const body = answer.json<{ error: { type: string; request_id: string } }>();
      expect(body.error).toMatchObject({ type: 'Internal', request_id: id });
      expect(answer.body).not.toMatch(/at .*\.ts:\d+/); // the stack stays in the log
      const logged = h.lines
        .map(
          (l) => JSON.parse(l) as { request_id?: string; level: string; err?: { stack?: string } },
        )
        .find((l) => l.request_id === id && l.level === 'error');
      expect(logged?.err?.stack).toMatch(/\n\s+at /);
      const unauthorized = await h.app.inject({
        method: 'GET',
        url: '/v1/jobs',
        headers: { authorization: `Bearer ${TOKEN}-wrong` },
      });
      expect(unauthorized.statusCode).toBe(401);
      expect(h.lines.join('')).not.toContain(TOKEN);
    } finally {
      await h.app.close();
      h.cleanup();
    }
  });

  // Seen: a submit's request line names no job and its "job queued" line named no
  // request, so an operator could not tell which request made (or cancelled) which job.
  it('puts the request id in the lifecycle lines a request causes', async () => {
    const h = await harness();
    try {
      const post = (url: string, id: string, payload?: object) =>
        h.app.inject({
          method: 'POST',
          url,
          headers: { ...auth, 'x-request-id': id },
          ...(payload ? { payload } : {}),
        });
      const job = { runtime: 'shell', command: ['true'] };
      const one = (await post('/v1/jobs', 'trace.submit-1', job)).json<{ id: string }>().id;
      const batch = (await post('/v1/jobs/batch', 'trace.batch-2', { jobs: [job, job] })).json<{
        jobs: Array<{ id: string }>;
      }>().jobs;
      expect((await post(`/v1/jobs/${one}/cancel`, 'trace.cancel-3')).statusCode).toBe(200);
      const lines = h.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const requestOf = (msg: string, job: string) =>
        lines.find((l) => l.msg === msg && l.job === job)?.request_id;
      expect(requestOf('job queued', one)).toBe('trace.submit-1');
      for (const { id } of batch) expect(requestOf('job queued', id)).toBe('trace.batch-2');
      expect(requestOf('job cancelled', one)).toBe('trace.cancel-3');
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  // Seen: every submit refused for a full disk wrote a multi-line stack at level error,
  // the level and the stack README keeps for the server's own failures (500).
  it('logs a refusal the server meant (507) at warn, without a stack', async () => {
    const h = await harness(2 ** 60);
    try {
      const answer = await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: auth,
        payload: { runtime: 'shell', command: ['true'] },
      });
      expect(answer.statusCode).toBe(507);
      const id = answer.headers['x-request-id'];
      const lines = h.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.request_id === id);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
      expect(lines.find((l) => l.msg === 'request refused')).toMatchObject({
        level: 'warn',
        error_type: 'InsufficientStorage',
        message: expect.stringContaining('limits.minFreeBytes'),
      });
      expect(JSON.stringify(lines)).not.toContain('\\n    at ');
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  it('answers 201 with a Location that reads the job back', async () => {
    const h = await harness();
    try {
      const created = await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: auth,
        payload: { runtime: 'shell', command: ['true'] },
      });
      expect(created.statusCode).toBe(201);
      const location = created.headers.location as string;
      expect(location).toBe(`/v1/jobs/${created.json<{ id: string }>().id}`);
      const read = await h.app.inject({ method: 'GET', url: location, headers: auth });
      expect(read.json<{ id: string }>().id).toBe(created.json<{ id: string }>().id);
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  it('names as its server the address the client used, or a relative one when none was given', async () => {
    const h = await harness();
    try {
      const servers = async (host: string) =>
        (await h.app.inject({ method: 'GET', url: '/openapi.json', headers: { host } })).json<{
          servers: Array<{ url: string }>;
        }>().servers;
      // A Host the rebinding check lets through: any loopback address.
      expect(await servers('127.0.0.2:7070')).toEqual([
        { url: 'http://127.0.0.2:7070', description: 'this server' },
      ]);
      // HTTP/1.0 needs no Host header: then the server can only be named relatively.
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = h.app.server.address() as AddressInfo;
      const raw = await new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () =>
          socket.write('GET /openapi.json HTTP/1.0\r\n\r\n'),
        );
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as {
        servers: unknown;
      };
      expect(body.servers).toEqual([{ url: '/', description: 'this server' }]);
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });

  it('serves /docs and its assets without the token and without the network', async () => {
    const h = await harness();
    try {
      const page = await h.app.inject({ method: 'GET', url: '/docs' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      const sources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(sources).toEqual(['docs/swagger-ui.css', 'docs/swagger-ui-bundle.js', 'docs/init.js']);
      for (const source of sources) {
        const asset = await h.app.inject({ method: 'GET', url: `/${source}` });
        expect(asset.statusCode, source).toBe(200);
        expect(asset.body.length, source).toBeGreaterThan(
          source.endsWith('init.js') ? 50 : 100_000,
        );
      }
      expect(page.body).not.toMatch(/https?:\/\//);
      // Seen: /docs, on the dashboard's origin (its Try-it-out sends the session cookie),
      // had neither the dashboard page's CSP nor its framing rule, and an inline script.
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['content-security-policy']).toContain("script-src 'self';");
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.body).not.toMatch(/<script>/);
    } finally {
      await h.app.close();
      h.queue.close();
      h.cleanup();
    }
  });
});
