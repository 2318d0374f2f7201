import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../helpers/openapi.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Walks every operation of the document a real `runbox serve` serves and makes it fail
 * the ways any client can make it fail: a method the path does not take (405), a body of
 * another type (415), a body over the limit (413), and, after ten wrong bearer tokens
 * from this address, any guarded route (429 with Retry-After). Each answer's status must be one the document lists for that
 * operation, with the Error body and a type from its ErrorType enum; a client generated
 * from the document had no type for those statuses, and typed error.type as any string.
 */
const TOKEN = 'document-walk-token';
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

interface Operation {
  operationId: string;
  security?: unknown[];
  responses: Record<string, { headers?: Record<string, unknown> }>;
}

describe('every operation of the served document against runbox serve', () => {
  const sandbox = useProcessSandbox('docwalk');

  it('lists 408, 413, 415 and 429 wherever serve answers them, answers 405 with Allow, each with the Error body', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      token: TOKEN,
      // A second for the whole request: the walk's own requests are local and small.
      limits: { bodyBytes: 64 * 1024, requestMs: 1000 },
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument;
    const operations: { method: string; url: string; op: Operation }[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item as unknown as Record<string, Operation>)) {
        const url = path
          .replace('{id}', '01M8R90MJSBESJRPMMHEZARSWE')
          .replace('{attempt}', '1')
          .replace('{name}', 'nightly')
          .replace('{path}', 'a.txt');
        operations.push({ method, url, op });
      }
    }
    expect(operations.length).toBeGreaterThan(20);

    // Every error's type is one of the enum the client's union type was generated from.
    const errorTypes = (
      doc as unknown as { components: { schemas: Record<string, { enum?: string[] }> } }
    ).components.schemas.ErrorType?.enum;
    expect(errorTypes).toContain('InvalidSpec');
    const undocumented: string[] = [];
    const send = async (
      { method, url, op }: (typeof operations)[number],
      init: { headers?: Record<string, string>; body?: string },
      expected: number,
    ) => {
      const answer = await fetch(`${server.url}${url}`, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
        body: init.body,
      });
      const where = `${method.toUpperCase()} ${url} (${op.operationId}) ${answer.status}`;
      if (answer.status !== expected) undocumented.push(`${where}: expected ${expected}`);
      if (!op.responses[String(answer.status)]) undocumented.push(`${where}: not in the document`);
      const body = (await answer.json()) as { error?: Record<string, unknown> };
      expect(Object.keys(body.error ?? {}).sort(), where).toEqual([
        'field',
        'message',
        'request_id',
        'type',
      ]);
      expect(errorTypes, where).toContain(body.error!.type);
      return { answer, message: String(body.error!.message) };
    };

    // Headers past what Node's parser reads (16 KiB): answered before any route, and
    // listed by none, so a generated client had no type for it.
    for (const operation of operations) {
      await send(operation, { headers: { 'x-padding': 'x'.repeat(20 * 1024) } }, 431);
    }
    // A request that does not arrive in full within limits.requestMs (headers cut short,
    // or a body short of its length): 408 before any route answers, listed by none.
    const port = Number(new URL(server.url).port);
    await Promise.all(
      operations.map(
        ({ method, url, op }) =>
          new Promise<void>((resolve) => {
            const socket = connect(port, '127.0.0.1');
            let answer = '';
            socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
            socket.on('error', () => {});
            socket.on('close', () => {
              const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? '(none)';
              const where = `${method.toUpperCase()} ${url} (${op.operationId}) ${status}`;
              if (status !== '408') undocumented.push(`${where}: expected 408`);
              if (!op.responses[status]) undocumented.push(`${where}: not in the document`);
              resolve();
            });
            const head = `${method.toUpperCase()} ${url} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n`;
            socket.write(
              BODY_METHODS.has(method)
                ? `${head}Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{`
                : head,
            );
          }),
      ),
    );
    for (const operation of operations.filter((o) => BODY_METHODS.has(o.method))) {
      await send(operation, { headers: { 'content-type': 'text/plain' }, body: 'x' }, 415);
      // fastify parses a JSON body on every such route, one that reads none included.
      await send(operation, { headers: { 'content-type': 'application/json' }, body: '{' }, 400);
      const tooLarge = await send(
        operation,
        {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }),
        },
        413,
      );
      // The limit named is the one that refused: login and logout read 32 KiB, not limits.bodyBytes.
      expect(tooLarge.message, operation.url).toBe(
        operation.url === '/v1/session'
          ? 'request body is larger than the 32768 bytes this route reads'
          : `request body is larger than ${64 * 1024} bytes (limits.bodyBytes); send fewer or smaller files`,
      );
    }

    // A path the document has, asked with a method it does not list: 405 naming the
    // methods it takes (404 "no route" before, as if the path were wrong).
    for (const [path, item] of Object.entries(doc.paths)) {
      const url = operations.find((o) => (o.op as unknown) === Object.values(item)[0])!.url;
      const listed = Object.keys(item).map((m) => m.toUpperCase());
      const answer = await fetch(`${server.url}${url}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await answer.json()) as { error: { type: string; field: string } };
      expect(
        { status: answer.status, allow: answer.headers.get('allow'), ...body.error },
        path,
      ).toMatchObject({ status: 405, type: 'MethodNotAllowed', field: 'method' });
      // A superset: /v1/jobs/batch is also /v1/jobs/{id}, which GET reads.
      expect(answer.headers.get('allow')!.split(', '), path).toEqual(
        expect.arrayContaining(listed),
      );
      expect(errorTypes).toContain(body.error.type);
    }
    const unknown = await fetch(`${server.url}/v1/nope`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(unknown.status).toBe(404);

    // What a created resource's answer carries, a client generated from the document
    // can read: Location on addSchedule's 201 was sent and not documented.
    const created: [string, string, unknown][] = [
      ['/v1/jobs', 'submitJob', { runtime: 'shell', command: ['true'] }],
      [
        '/v1/schedules',
        'addSchedule',
        { name: 'walk', cron: '0 0 1 1 *', job: { runtime: 'shell', command: ['true'] } },
      ],
    ];
    const plain = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);
    for (const [url, operationId, body] of created) {
      const operation = operations.find((o) => o.op.operationId === operationId)!;
      const answer = await fetch(`${server.url}${url}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(answer.status, operationId).toBe(201);
      const documented = Object.keys(operation.op.responses['201']?.headers ?? {});
      const sent = [...answer.headers.keys()].filter(
        (name) => !plain.has(name) && name !== 'x-content-type-options',
      );
      expect(documented, operationId).toEqual(expect.arrayContaining(sent));
    }
    // Every operation without a path parameter, and the login: the dashboard's security
    // headers and the login's Cache-Control were sent and not documented.
    const undocumentedHeaders: string[] = [];
    for (const { method, url, op } of operations) {
      if (url.includes('01M8R90MJSBESJRPMMHEZARSWE') || url.includes('nightly')) continue;
      const login = method === 'post' && url === '/v1/session';
      if (method === 'post' && !login) continue;
      const answer = await fetch(`${server.url}${url}`, {
        method: method.toUpperCase(),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(login ? { 'content-type': 'application/json' } : {}),
        },
        ...(login ? { body: JSON.stringify({ token: TOKEN }) } : {}),
      });
      await answer.arrayBuffer();
      const named = Object.keys(op.responses[String(answer.status)]?.headers ?? {});
      for (const name of answer.headers.keys()) {
        if (!plain.has(name) && name !== 'x-content-type-options' && !named.includes(name)) {
          undocumentedHeaders.push(`${method.toUpperCase()} ${url} ${answer.status}: ${name}`);
        }
      }
    }
    expect(undocumentedHeaders).toEqual([]);
    for (let i = 0; i < 10; i++) {
      await fetch(`${server.url}/v1/contract`, { headers: { authorization: 'Bearer wrong' } });
    }
    for (const operation of operations.filter((o) => o.op.security === undefined)) {
      const { answer } = await send(operation, {}, 429);
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(operation.op.responses['429']?.headers?.['retry-after'], operation.url).toBeDefined();
    }
    expect(undocumented).toEqual([]);
  });
});
