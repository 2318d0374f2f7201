import { describe, expect, it } from 'vitest';
import { http, type HttpAnswer } from '../helpers/chaosKit.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Issue 11 item 7, DNS rebinding: a real `runbox serve` on loopback answers only Host
 * names that cannot be rebound (loopback ones and allowedHosts), refuses requests a
 * browser sends from another origin, for every method, and never sends CORS headers.
 */
const JOB = { runtime: 'shell', command: ['true'] };

function expectNoCors(answer: HttpAnswer): void {
  for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
}

describe('DNS rebinding and cross-origin requests', () => {
  const sandbox = useProcessSandbox('rebinding');

  it('serves loopback and configured Host names, and refuses any other with 421', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      limits: { minFreeBytes: 1 },
      allowedHosts: ['runbox.internal'],
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const port = new URL(server.url).port;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      'runbox.internal',
    ]) {
      const answer = await http(server.url, '/v1/jobs', { headers: { host } });
      expect(answer.status, `${host}: ${answer.text}`).toBe(200);
    }
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      `localhost.evil.example`,
    ]) {
      for (const [method, path, body] of [
        ['GET', '/v1/jobs', undefined],
        ['POST', '/v1/jobs', JOB],
        ['GET', '/healthz', undefined],
      ] as const) {
        const answer = await http(server.url, path, {
          method,
          headers: { host },
          ...(body ? { body } : {}),
        });
        expect(answer.status, `${method} ${path} Host ${host}: ${answer.text}`).toBe(421);
        expect(answer.json.error).toMatchObject({ type: 'MisdirectedRequest', field: 'host' });
        expectNoCors(answer);
      }
    }
    const jobs = await http(server.url, '/v1/jobs');
    expect(jobs.json.jobs).toHaveLength(0);
  });

  it('refuses a request from another origin with 403 for every method, and serves its own', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { limits: { minFreeBytes: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const port = new URL(server.url).port;
    const foreign: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${Number(port) + 1}` },
      { origin: 'null' },
      { origin: `https://127.0.0.1:${port}.evil.example` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of foreign) {
      for (const method of ['GET', 'POST', 'OPTIONS', 'DELETE', 'PUT']) {
        const answer = await http(server.url, method === 'POST' ? '/v1/jobs' : '/v1/jobs', {
          method,
          headers: { ...headers, 'access-control-request-method': 'POST' },
          ...(method === 'POST' ? { body: JOB } : {}),
        });
        expect(answer.status, `${method} ${JSON.stringify(headers)}: ${answer.text}`).toBe(403);
        expect(answer.json.error.type).toBe('Forbidden');
        expect(answer.json.error.field).toBe(Object.keys(headers)[0]);
        expectNoCors(answer);
      }
    }
    // Nothing was stored by any of them.
    expect((await http(server.url, '/v1/jobs')).json.jobs).toHaveLength(0);
    // The server's own origin (its own page, or a same-origin fetch) is served.
    const own = await http(server.url, '/v1/jobs', {
      body: JOB,
      headers: { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.status, own.text).toBe(201);
    expectNoCors(own);
  });
});
