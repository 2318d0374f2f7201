import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { requestLimits } from '../../src/cli/client.js';
import { plainRequest } from '../../src/cli/plainHttp.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * JSON bodies a careless or hostile client sends, against a real `runbox serve`: what
 * JSON.parse would take silently (bytes that are not UTF-8, lone surrogates, a key
 * named twice, nesting thousands deep) is refused with the typed error naming the
 * field, as is a compressed body (415), and nothing is stored; what is well-formed reaches the job byte for byte.
 */
const TOKEN = 'hostile-bodies-token';

describe('hostile JSON bodies against runbox serve', () => {
  const sandbox = useProcessSandbox('hostile');

  it('refuses invalid UTF-8, lone surrogates, duplicate keys and deep nesting by field; runs well-formed text as sent', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const post = async (body: string | Buffer, path = '/v1/jobs') => {
      const answer = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
      return {
        status: answer.status,
        body: (await answer.json()) as {
          id?: string;
          error?: { type: string; message: string; field: string | null };
        },
      };
    };
    const job = (rest: string) =>
      `{"runtime":"shell","script":{"path":"job.sh","content":"printf 'x'"}${rest}}`;

    const refusals: [string | Buffer, string | RegExp, RegExp, string?][] = [
      // \xff\xfe became two U+FFFD before: the job ran a script no one sent.
      [
        Buffer.concat([
          Buffer.from('{"runtime":"shell","script":{"path":"job.sh","content":"printf '),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('"}}'),
        ]),
        '(body)',
        /not valid UTF-8 at byte 63;.*"encoding": "base64"/,
      ],
      [
        '{"runtime":"shell","script":{"path":"job.sh","content":"printf \\ud800"}}',
        'script.content',
        /lone UTF-16 surrogate/,
      ],
      // The last "runtime" won before; a proxy reading the first saw another job.
      [
        '{"runtime":"shell","runtime":"python","script":{"path":"job.sh","content":"x"}}',
        'runtime',
        /named twice/,
      ],
      [job(',"env":{"A":"1","B":"2","A":"3"}'), 'env.A', /named twice/],
      [
        '{"jobs":[{"runtime":"shell","command":["true"]},{"runtime":"shell","command":["true"],"priority":1,"priority":2}]}',
        'jobs.1.priority',
        /named twice/,
        '/v1/jobs/batch',
      ],
      // "Maximum call stack size exceeded" before, naming no limit.
      ['['.repeat(10_000) + ']'.repeat(10_000), /^0(\.0){63}$/, /nests deeper than 64 levels/],
      [job(',"__proto__":{"x":1}'), '__proto__', /not a key/],
      [job(',"constructor":{"prototype":{"x":1}}'), 'constructor.prototype', /not a key/],
    ];
    for (const [body, field, message, path] of refusals) {
      const answer = await post(body, path);
      expect({ status: answer.status, error: answer.body.error }).toMatchObject({
        status: 400,
        error: {
          type: 'InvalidSpec',
          field: typeof field === 'string' ? field : expect.stringMatching(field),
          message: expect.stringMatching(message),
        },
      });
    }
    // The deep one names where it went too deep.
    const deep = await post(job(`,"env":{"A":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`));
    expect(deep.status).toBe(400);
    expect(deep.body.error!.field).toMatch(/^env\.A(\.a)+$/);

    // Read as sent, never decompressed: "not valid UTF-8 at byte 1" before.
    const gzipped = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: gzipSync(job('')),
    });
    expect(gzipped.status).toBe(415);
    expect(((await gzipped.json()) as { error: unknown }).error).toMatchObject({
      type: 'InvalidSpec',
      field: 'content-encoding',
      message: 'Content-Encoding gzip is not read; send the body uncompressed',
    });

    // JSON is UTF-8: a latin1 body was read as UTF-8 (é became a refusal blaming a byte).
    for (const contentType of [
      'application/json; charset=latin1',
      'application/json;charset="ISO-8859-1"',
      'application/json; charset=utf-16',
    ]) {
      const latin1 = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': contentType },
        body: Buffer.from(job(',"env":{"A":"caf\u00e9"}'), 'latin1'),
      });
      expect(latin1.status, contentType).toBe(415);
      expect(
        ((await latin1.json()) as { error: { field: string; message: string } }).error,
      ).toMatchObject({
        field: 'content-type',
        message: expect.stringMatching(
          /^charset=(latin1|iso-8859-1|utf-16) is not read: JSON bodies are UTF-8/,
        ),
      });
    }

    const listed = await fetch(`${server.url}/v1/jobs`, { headers });
    expect(((await listed.json()) as { jobs: unknown[] }).jobs).toEqual([]);

    // UTF-8 by name (any case, quoted or not) and ASCII are read as before.
    for (const charset of ['UTF-8', '"utf8"', 'us-ascii']) {
      const named = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': `application/json; charset=${charset}` },
        body: job(',"run_at":"9999-01-01T00:00:00Z"'),
      });
      expect(named.status, charset).toBe(201);
      const { id: namedId } = (await named.json()) as { id: string };
      await fetch(`${server.url}/v1/jobs/${namedId}/cancel`, { method: 'POST', headers });
    }

    // A surrogate pair (an escaped astral character) and raw UTF-8 are text: they run
    // as sent, and the log has exactly their UTF-8 bytes.
    const good = await post(
      '{"runtime":"shell","script":{"path":"job.sh","content":"printf \'\\ud83d\\ude00 é ключ\'"}}',
    );
    expect(good.status).toBe(201);
    const id = good.body.id!;
    let status = '';
    for (let i = 0; i < 120 && !['succeeded', 'failed', 'cancelled'].includes(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const current = await fetch(`${server.url}/v1/jobs/${id}`, { headers });
      status = ((await current.json()) as { status: string }).status;
    }
    expect(status).toBe('succeeded');
    const log = await fetch(`${server.url}/v1/jobs/${id}/logs`, { headers });
    expect(Buffer.from(await log.arrayBuffer())).toEqual(Buffer.from('😀 é ключ', 'utf8'));
  });

  it('answers a body over the limit 413 to a client still sending it, and cuts off one that never ends', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      token: TOKEN,
      limits: { bodyBytes: 64 * 1024 },
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    // Megabytes more than the limit: the client is still writing when the answer comes,
    // and fetch (runbox's CLI, the generated client) lost it to EPIPE before, so the CLI
    // said it could not reach the server.
    const big = Buffer.alloc(8 * 1024 * 1024, 'x');
    const chunked = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 8; i++) controller.enqueue(big.subarray(0, 1024 * 1024));
          controller.close();
        },
      });
    for (const path of ['/v1/jobs', '/v1/session', '/v1/jobs/01M8R90MJSBESJRPMMHEZARSWE/cancel']) {
      for (const body of [big, chunked()]) {
        const answer = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers,
          body,
          duplex: 'half',
        } as RequestInit);
        expect(answer.status, path).toBe(413);
        expect(((await answer.json()) as { error: unknown }).error).toMatchObject({
          type: 'PayloadTooLarge',
          field: '(body)',
        });
      }
    }
    // runbox's own CLI asks for connection: close; it said "cannot reach the server".
    const jobs = new URL(`${server.url}/v1/jobs`);
    const cli = await plainRequest(
      jobs,
      'POST',
      { ...headers, 'content-length': String(big.length) },
      big,
      requestLimits(jobs),
    );
    expect(cli.status).toBe(413);
    expect(cli.text).toMatch(/limits\.bodyBytes/);
    // The connection still answers after the refused body.
    const after = await fetch(`${server.url}/v1/jobs`, { headers });
    expect(after.status).toBe(200);

    // A body that never ends is not read for ever: it is answered and closed within seconds.
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      `POST /v1/jobs HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n` +
        `Authorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n',
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now())),
    );
    const started = Date.now();
    const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
    const feed = setInterval(() => {
      if (!socket.destroyed) socket.write(chunk);
    }, 5);
    try {
      const at = await closed;
      expect(at - started).toBeLessThan(15_000);
    } finally {
      clearInterval(feed);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('takes a Content-Type on a request without a body as no body where the route reads none', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const queued = async () => {
      const answer = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"runtime":"shell","command":["true"]}',
      });
      return ((await answer.json()) as { id: string }).id;
    };
    // Clients that set Content-Type on every request (a session's default headers), and
    // fetch's own text/plain for body: '', were refused a cancel: 400 "body is empty;
    // send a JSON object", or 415, though the route reads no body.
    const emptyBodies: { headers: Record<string, string>; body?: string }[] = [
      { headers: { 'content-type': 'application/json', 'content-length': '0' } },
      { headers: { 'content-type': 'application/json' } },
      { headers: {}, body: '' },
    ];
    for (const { headers, body } of emptyBodies) {
      const id = await queued();
      const cancel = await fetch(`${server.url}/v1/jobs/${id}/cancel`, {
        method: 'POST',
        headers: { ...auth, ...headers },
        ...(body === undefined ? {} : { body }),
      });
      expect(cancel.status, JSON.stringify(headers)).toBe(200);
      expect(((await cancel.json()) as { status: string }).status).toBe('cancelled');
    }
    const logout = await fetch(`${server.url}/v1/session`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json', 'content-length': '0' },
    });
    expect(logout.status).toBe(204);

    // A route that reads a body still needs one, and a body sent to one that reads none
    // is still refused by its type.
    const empty = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-length': '0' },
    });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toBe(
      'body is empty; send a JSON object',
    );
    const typed = await fetch(`${server.url}/v1/jobs/${await queued()}/cancel`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'please',
    });
    expect(typed.status).toBe(415);
  });
});
