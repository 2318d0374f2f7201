import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, requestLimits } from '../../src/cli/client.js';
import { parseResponse, plainRequest } from '../../src/cli/plainHttp.js';
import { RunboxError } from '../../src/errors/index.js';

/** The client commands' JSON calls over node:net (plainHttp.ts), against node:http servers. */

const servers: { close(cb: () => void): unknown }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('plainRequest', () => {
  it('sends method, path, query, headers and body; reads a chunked, non-ASCII answer', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    const url = await serve((req, body, res) => {
      seen = {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body,
      };
      res.setHeader('content-type', 'application/json');
      // Two writes without a content-length: node:http sends them chunked.
      res.write('{"name":"ünïcode ');
      res.end('名前"}');
    });
    const client = new ApiClient(url, 's3cret');
    const answer = await client.json<{ name: string }>('POST', '/v1/jobs?x=1&y=%C3%BC', {
      script: 'é',
    });
    expect(answer).toEqual({ status: 200, body: { name: 'ünïcode 名前' } });
    expect(seen).toEqual({
      method: 'POST',
      url: '/v1/jobs?x=1&y=%C3%BC',
      auth: 'Bearer s3cret',
      type: 'application/json',
      body: '{"script":"é"}',
    });
  });

  it('a POST without a body, a 204, and an error answer the server described', async () => {
    const url = await serve((req, body, res) => {
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
      } else if (req.url === '/missing') {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: { type: 'NotFound', message: 'no job X', field: 'id' } }));
      } else res.end(JSON.stringify({ length: req.headers['content-length'], body }));
    });
    const client = new ApiClient(url, null);
    expect((await client.json('POST', '/cancel')).body).toEqual({ length: '0', body: '' });
    expect(await client.json('GET', '/empty')).toEqual({ status: 204, body: null });
    const error = await client.json('GET', '/missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunboxError);
    expect(error).toMatchObject({ type: 'NotFound', message: 'no job X', field: 'id' });
  });

  it('no server, a server that hangs up, and one that does not speak HTTP: ServerUnavailable', async () => {
    const tcp = createTcpServer((socket) => {
      socket.once('data', () => socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    });
    servers.push(tcp);
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    const notHttp = await new ApiClient(`http://127.0.0.1:${port}`, null)
      .json('GET', '/')
      .catch((e: unknown) => e);
    expect(notHttp).toMatchObject({ type: 'ServerUnavailable' });
    expect((notHttp as Error).message).toContain('EPROTO');
    const closed = await serve((_req, _body, res) => res.socket?.destroy());
    const hungUp = await new ApiClient(closed, null).json('GET', '/').catch((e: unknown) => e);
    expect(hungUp).toMatchObject({ type: 'ServerUnavailable' });
    const refused = await new ApiClient('http://127.0.0.1:1', null)
      .json('GET', '/')
      .catch((e: unknown) => e);
    expect((refused as Error).message).toContain('ECONNREFUSED');
  });

  it('https:// to a server that speaks plain HTTP says so, not "start it with runbox serve"', async () => {
    // `runbox ls --server https://127.0.0.1:7070` against a running serve said "cannot reach
    // the runbox server ... (EPROTO); start it with `runbox serve`": it was running.
    const plain = await serve((_req, _body, res) => res.end('{}'));
    const https = plain.replace('http://', 'https://');
    const wrong = await new ApiClient(https, null).json('GET', '/').catch((e: unknown) => e);
    expect(wrong).toMatchObject({ type: 'ServerUnavailable', field: 'server' });
    expect((wrong as Error).message).toMatch(
      /answered, but not over TLS \(.+\): runbox serve speaks plain HTTP; use http:\/\//,
    );
    expect((wrong as Error).message).not.toContain('start it with');
  });

  it('a server given without http:// is a usage error naming it, not Internal "Invalid URL"', () => {
    for (const server of ['127.0.0.1:7070', 'localhost:7070', 'ftp://host', 'http//x', '']) {
      let thrown: unknown;
      try {
        new ApiClient(server, null);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, server).toBeInstanceOf(RunboxError);
      expect((thrown as RunboxError).type).toBe('UsageError');
      expect((thrown as RunboxError).field).toBe('server');
      expect((thrown as Error).message).toContain('give e.g. http://127.0.0.1:7070');
    }
    expect(new ApiClient('https://runbox.example:8443/', null).baseUrl).toBe(
      'https://runbox.example:8443/',
    );
  });

  it('refuses a header value that would split the request, before connecting', async () => {
    await expect(
      plainRequest(
        new URL('http://127.0.0.1:1/'),
        'GET',
        { authorization: 'a\r\nx: y' },
        undefined,
        requestLimits(new URL('http://127.0.0.1:1/')),
      ),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
  });
});

describe('parseResponse', () => {
  const parse = (text: string) => parseResponse(Buffer.from(text, 'latin1'));
  it('skips 1xx answers, honours content-length, chunk extensions, and reads to close', () => {
    expect(
      parse(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokEXTRA',
      ),
    ).toEqual({ status: 201, text: 'ok' });
    expect(
      parse(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\n\r\n',
      ),
    ).toEqual({ status: 200, text: 'abcd' });
    expect(parse('HTTP/1.0 500\r\n\r\nall of it')).toEqual({ status: 500, text: 'all of it' });
  });
  it('refuses what is not a whole HTTP/1.x answer', () => {
    for (const bad of [
      '',
      'HTTP/1.1 200 OK\r\n',
      'HTTP/2 200\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      expect(() => parse(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
