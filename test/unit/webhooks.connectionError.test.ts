import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionError } from '../../src/webhooks/connectionError.js';

/** The error Node gives a POST to `url`, as the delivery loop meets it. */
function errorOf(url: string): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: 'POST', agent: false });
    request.on('error', resolve);
    request.on('response', () => reject(new Error(`${url} answered`)));
    request.end('{}');
  });
}

describe('connectionError', () => {
  // A plain http server: TLS to it fails the way an https URL on an http port does.
  const plain = createServer((_req, res) => res.end());
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    port = (plain.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => plain.close(() => r())));

  it("keeps OpenSSL's reason and names host:port, without its thread id, code, function or source path", async () => {
    const url = `https://127.0.0.1:${port}/hook`;
    const error = await errorOf(url);
    // Node's own words, as last_error showed them whole before.
    expect(error.code).toBe('EPROTO');
    expect(error.message).toMatch(
      /^write EPROTO [0-9A-F]+:error:[0-9A-F]+:SSL routines:\w*:wrong version number:\S+\.c:\d+:\n?$/,
    );
    expect(connectionError(error, new URL(url))).toBe(
      `write EPROTO SSL routines: wrong version number at 127.0.0.1:${port}`,
    );
  });

  it('leaves an error that names its address as Node said it, and adds the default port', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const url = `https://127.0.0.1:${closedPort}/`;
    expect(connectionError(await errorOf(url), new URL(url))).toBe(
      `connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    );
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(connectionError(reset, new URL('https://hooks.example.com/x'))).toBe(
      'ECONNRESET (socket hang up) at hooks.example.com:443',
    );
  });
});
