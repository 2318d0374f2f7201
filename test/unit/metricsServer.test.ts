import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RunboxMetrics } from '../../src/metrics.js';
import { serveMetrics } from '../../src/metricsServer.js';

function ask(
  url: string,
  method: string,
  host: string,
): Promise<{
  status: number;
  length: string | undefined;
  allow: string | undefined;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          length: res.headers['content-length'],
          allow: res.headers.allow,
          body,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** `runbox worker --metrics-port`: the worker's own /metrics on loopback. */
describe('serveMetrics', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  // Seen: any Host was served, so a web page that re-pointed its own name at 127.0.0.1
  // (DNS rebinding) could read the worker's metrics (host name, job counts and error
  // types) from a browser on the machine; and HEAD, which the API's /metrics answers,
  // was 404 here.
  it('serves loopback names only, and answers HEAD like GET without the body', async () => {
    const served = await serveMetrics(new RunboxMetrics({ process: 'worker', workerId: 'w1' }), 0);
    close = served.close;
    const port = new URL(served.url).port;

    const rebound = await ask(served.url, 'GET', `evil.example:${port}`);
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('runbox_');

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const get = await ask(served.url, 'GET', host);
      expect(get.status, host).toBe(200);
      expect(get.body).toContain('runbox_build_info{');
    }
    const get = await ask(served.url, 'GET', `127.0.0.1:${port}`);
    const head = await ask(served.url, 'HEAD', `127.0.0.1:${port}`);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.length)).toBeGreaterThan(1000);
    expect(Math.abs(Number(head.length) - Number(get.length))).toBeLessThan(200);
    // A POST to /metrics is the method's fault (405 naming the ones it takes, as the API
    // answers); another path is not here at all (404).
    expect(await ask(served.url, 'POST', `127.0.0.1:${port}`)).toMatchObject({
      status: 405,
      allow: 'GET, HEAD',
    });
    const other = served.url.replace('/metrics', '/jobs');
    expect((await ask(other, 'GET', `127.0.0.1:${port}`)).status).toBe(404);
  });
});
