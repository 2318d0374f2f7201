import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_IDLE_MS, ANSWER_MAX_BYTES } from '../../src/cli/client.js';
import { runbox, startOutputsServer, type OutputsServer } from './outputsKit.js';

/**
 * A --server that is not a runbox server, or one that breaks: the client commands' JSON
 * calls read the answer whole with no cap and no clock, so a port that accepted and said
 * nothing held `status`, `ls`, `submit`, `cancel` for ever, and one streaming bytes took
 * 1.5 GB in 20 s until the OOM killer came. Each is now bounded (client.ts:
 * ANSWER_IDLE_MS, ANSWER_MAX_BYTES), and a slow answer that keeps coming, or a job
 * waited for longer than that clock, is not cut.
 */
describe.concurrent('client commands against a server that does not answer as runbox does', () => {
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const temp = mkdtempSync(join(tmpdir(), 'runbox-hostile-'));
  let rb: OutputsServer;

  /** A TCP server on a free loopback port, each connection handed to `onRequest`. */
  const listen = async (onRequest: (socket: Socket) => void) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      socket.once('data', () => onRequest(socket));
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const timed = async (url: string, args: string[], timeoutMs: number) => {
    const started = Date.now();
    const result = await runbox(url, args, timeoutMs);
    return { ...result, seconds: (Date.now() - started) / 1000 };
  };

  beforeAll(async () => {
    rb = await startOutputsServer('hostile');
    writeFileSync(join(temp, 'job.sh'), 'echo hi\n');
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
    await rb?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  it('a server that accepts and says nothing: status, ls, submit, cancel exit 69 naming it, after 60 s of silence', async () => {
    const url = await listen(() => {});
    const commands: [string[], string][] = [
      [['status', 'j1'], 'GET /v1/jobs/j1'],
      [['ls'], 'GET /v1/jobs?limit=50'],
      [['submit', join(temp, 'job.sh'), '--wait'], 'POST /v1/jobs'],
      [['cancel', 'j1'], 'POST /v1/jobs/j1/cancel'],
    ];
    const results = await Promise.all(
      commands.map(([args]) => timed(url, args, ANSWER_IDLE_MS + 60_000)),
    );
    results.forEach((result, i) => {
      expect(result.code, result.stderr).toBe(69);
      expect(result.stderr).toBe(
        `runbox: ServerUnavailable: the server at ${url} sent nothing for ${ANSWER_IDLE_MS / 1000} s in answer to ${commands[i]![1]}; ` +
          'check that runbox serve runs and answers there, or point --server / RUNBOX_SERVER at a runbox server\n',
      );
      expect(result.seconds).toBeGreaterThanOrEqual(ANSWER_IDLE_MS / 1000);
      expect(result.seconds).toBeLessThan(ANSWER_IDLE_MS / 1000 + 45);
    });
  }, 180_000);

  it('an answer that never ends: exit 69 naming the cap, having read no more than it', async () => {
    let sent = 0;
    const url = await listen((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n');
      const chunk = Buffer.alloc(1 << 16, 'x');
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk)) sent += chunk.length;
      };
      socket.on('drain', pump);
      pump();
    });
    const result = await timed(url, ['status', 'j1', '--json'], 150_000);
    expect(result.code, result.stderr).toBe(69);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        type: 'ServerUnavailable',
        message:
          `the server at ${url} answered GET /v1/jobs/j1 with more than ${ANSWER_MAX_BYTES} bytes, ` +
          'more than a runbox server sends; point --server / RUNBOX_SERVER at a runbox server',
        field: 'server',
      },
    });
    // What the kernel's buffers hold beyond what the client read, no more.
    expect(sent).toBeLessThan(ANSWER_MAX_BYTES + 64 * 1024 * 1024);
  }, 180_000);

  it('an answer whose bytes keep coming is read whole, however long past the idle clock it takes', async () => {
    const job = JSON.stringify({
      id: 'j1',
      status: 'queued',
      queue: 'default',
      attempts: 0,
      max_attempts: 1,
      pad: 'x'.repeat(1000),
    });
    const pieces = 8;
    // Each pause well under the clock, all of them well over it.
    const pauseMs = Math.ceil((ANSWER_IDLE_MS * 1.2) / pieces);
    const url = await listen((socket) => {
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${job.length}\r\n\r\n`,
      );
      const size = Math.ceil(job.length / pieces);
      let at = 0;
      const next = () => {
        if (socket.destroyed) return;
        socket.write(job.slice(at, at + size));
        at += size;
        if (at < job.length) setTimeout(next, pauseMs);
        else socket.end();
      };
      setTimeout(next, pauseMs);
    });
    const result = await timed(url, ['status', 'j1', '--json'], ANSWER_IDLE_MS * 3);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(job));
    expect(result.seconds).toBeGreaterThan(ANSWER_IDLE_MS / 1000);
  }, 240_000);

  it('submit --wait of a job that runs longer than the idle clock waits for it and exits 0', async () => {
    const script = join(temp, 'long.sh');
    writeFileSync(script, `sleep ${ANSWER_IDLE_MS / 1000 + 10}; echo done\n`);
    const result = await timed(
      rb.url,
      ['submit', script, '--wait', '--json', '--timeout', '300'],
      ANSWER_IDLE_MS * 3,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    expect(result.seconds).toBeGreaterThan(ANSWER_IDLE_MS / 1000 + 10);
  }, 240_000);
});
