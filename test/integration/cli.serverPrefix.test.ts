import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/serverProcess.js';
import { runbox, startOutputsServer, type OutputsServer } from './outputsKit.js';

/**
 * A runbox behind a reverse proxy at a path prefix (http://host/runbox/ -> the server's
 * /): every client command must ask under --server's own path. The client used to
 * resolve '/v1/...' against --server, which drops the path, so every command hit the
 * proxy's own /v1/... and failed.
 */
describe('--server with a path (a runbox behind a proxy at /runbox/)', () => {
  let rb: OutputsServer;
  let proxy: Server;
  let prefixed: string;
  const seen: string[] = [];
  const temp = mkdtempSync(join(tmpdir(), 'runbox-prefix-'));

  beforeAll(async () => {
    rb = await startOutputsServer('prefix');
    const target = new URL(rb.url);
    proxy = createServer((incoming, answer) => {
      const path = incoming.url ?? '/';
      seen.push(path);
      if (!path.startsWith('/runbox/')) {
        answer.writeHead(404, { 'content-type': 'text/plain' }).end('not under /runbox/');
        return;
      }
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: path.slice('/runbox'.length),
          method: incoming.method,
          headers: { ...incoming.headers, host: target.host },
        },
        (response) => {
          answer.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(answer);
        },
      );
      incoming.pipe(upstream);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    prefixed = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/runbox`;
  });

  afterAll(async () => {
    await new Promise<void>((done) => proxy?.close(() => done()));
    await rb?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  it('submit --wait, status, logs, outputs -o and healthcheck all go through the prefix', async () => {
    const script = join(temp, 'job.sh');
    writeFileSync(
      script,
      'echo "hé from behind a proxy"; printf data > "$RUNBOX_OUTPUTS/out é.txt"\n',
    );
    // With and without a trailing slash: both are the same prefix.
    for (const server of [prefixed, `${prefixed}/`]) {
      const submitted = await runbox(server, ['submit', script, '--wait', '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = (JSON.parse(submitted.stdout) as { id: string; status: string }).id;
      const status = await runbox(server, ['status', id, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'succeeded' });
      const logs = await runbox(server, ['logs', id]);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stdout).toBe('hé from behind a proxy\n');
      const dir = join(temp, id);
      const outputs = await runbox(server, ['outputs', id, '-o', dir]);
      expect(outputs.code, outputs.stderr).toBe(0);
      expect(readFileSync(join(dir, 'out é.txt'), 'utf8')).toBe('data');
      const health = await runbox(server, ['healthcheck']);
      expect(health.code, health.stderr).toBe(0);
      // RUNBOX_SERVER names it as well as --server, as for every client command (it
      // probed the config's own port, 7070, where nothing answered: 69).
      const fromEnv = await runCliProcess(['healthcheck'], {
        env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: server },
      });
      expect(fromEnv.code, fromEnv.stderr).toBe(0);
    }
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((path) => !path.startsWith('/runbox/'))).toEqual([]);
  });
});

/**
 * --server pointed at something that is not runbox (a login page, a proxy's 502, an API
 * answering `{}` or `null`): every client command says so and exits 69. They crashed
 * ("page.jobs is not iterable", Internal 70) or printed `id: undefined`.
 */
describe('--server that is not a runbox server', () => {
  let other: Server;
  let base: string;
  const temp = mkdtempSync(join(tmpdir(), 'runbox-notrunbox-'));

  beforeAll(async () => {
    other = createServer((incoming, answer) => {
      const mode = (incoming.url ?? '/').split('/')[1];
      if (mode === 'html') answer.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      else if (mode === 'bad-gateway')
        answer.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
      else
        answer
          .writeHead(200, { 'content-type': 'application/json' })
          .end(mode === 'null' ? 'null' : '{}');
    });
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((done) => other?.close(() => done()));
    rmSync(temp, { recursive: true, force: true });
  });

  it('every client command names the server and exits 69', async () => {
    const script = join(temp, 'job.sh');
    writeFileSync(script, 'echo hi\n');
    const id = '01M8RR8WFMDB0ZNCTNJA86NZ3F';
    for (const mode of ['html', 'bad-gateway', 'null', 'empty']) {
      const server = `${base}/${mode}`;
      for (const args of [
        ['ls'],
        ['status', id],
        ['submit', script],
        ['cancel', id],
        ['outputs', id],
        ['queues'],
        ['workers'],
        ['runtimes'],
        ['webhooks', id],
      ]) {
        const r = await runbox(server, args);
        const what = `${mode}: runbox ${args.join(' ')}: ${r.stderr}`;
        expect(r.code, what).toBe(69);
        expect(r.stderr, what).toMatch(
          new RegExp(
            `^runbox: ServerUnavailable: the server at ${server} did not answer .* as a runbox server does \\(\\d{3}: `,
          ),
        );
        expect(r.stdout, what).toBe('');
      }
    }
  }, 120_000);
});
