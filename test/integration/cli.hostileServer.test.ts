import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_IDLE_MS, ANSWER_MAX_BYTES, ERROR_MAX_BYTES } from '../../src/cli/client.js';
import { runbox, startOutputsServer, type OutputsServer } from './outputsKit.js';

/**
 * A --server that is not a runbox server, or one that breaks: the client commands' JSON
 * calls read the answer whole with no cap and no clock, so a port that accepted and said
 * nothing held `status`, `ls`, `submit`, `cancel` for ever, and one streaming bytes took
 * 1.5 GB in 20 s until the OOM killer came. Each is now bounded (client.ts:
 * ANSWER_IDLE_MS, ANSWER_MAX_BYTES), and a slow answer that keeps coming, or a job
 * waited for longer than that clock, is not cut. `logs` and `outputs -o` stream with
 * fetch(), which waited 300 s for headers, and a download read an endless body until the
 * disk was full: the headers' wait, a finished answer's silence and a download's size
 * are bounded too; a follow's silence is not (its job may print nothing for hours).
 */
describe.concurrent('client commands against a server that does not answer as runbox does', () => {
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const temp = mkdtempSync(join(tmpdir(), 'runbox-hostile-'));
  let rb: OutputsServer;

  /**
   * A TCP server on a free loopback port, each connection handed to `onRequest` with the
   * first bytes of its request (its request line: `GET /v1/... HTTP/1.1`).
   */
  const listen = async (onRequest: (socket: Socket, request: string) => void) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      socket.once('data', (data: Buffer) => onRequest(socket, data.toString('latin1')));
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

  /**
   * Writes `head`, then 'x' for ever as fast as the client reads it: an answer that never
   * ends. `sent.bytes` counts what went out, to bound what the client read.
   */
  const sendForever = (socket: Socket, head: string, sent: { bytes: number }) => {
    socket.write(head);
    const chunk = Buffer.alloc(1 << 16, 'x');
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk)) sent.bytes += chunk.length;
    };
    socket.on('drain', pump);
    pump();
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
      [['status', 'J1'], 'GET /v1/jobs/J1'],
      [['ls'], 'GET /v1/jobs?limit=50'],
      [['submit', join(temp, 'job.sh'), '--wait'], 'POST /v1/jobs'],
      [['cancel', 'J1'], 'POST /v1/jobs/J1/cancel'],
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
    const sent = { bytes: 0 };
    const url = await listen((socket) =>
      sendForever(socket, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n', sent),
    );
    const result = await timed(url, ['status', 'J1', '--json'], 150_000);
    expect(result.code, result.stderr).toBe(69);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        type: 'ServerUnavailable',
        message:
          `the server at ${url} answered GET /v1/jobs/J1 with more than ${ANSWER_MAX_BYTES} bytes, ` +
          'more than a runbox server sends; point --server / RUNBOX_SERVER at a runbox server',
        field: 'server',
      },
    });
    // What the kernel's buffers hold beyond what the client read, no more.
    expect(sent.bytes).toBeLessThan(ANSWER_MAX_BYTES + 64 * 1024 * 1024);
  }, 180_000);

  /** A whole JSON answer, the connection closed after it. */
  const answerJson = (socket: Socket, body: unknown) => {
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  };
  const manifest = (size: number) => ({
    outputs: [
      {
        path: 'big.bin',
        type: 'file',
        size,
        sha256: 'a'.repeat(64),
        compressed_size: null,
        link_target: null,
      },
    ],
    skipped: [],
  });
  const startBytes = (socket: Socket, type: string) =>
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\n\r\n`);

  it('outputs -o of a file whose body never ends: exit 69 naming the file and the server, no more than its size read, the partial file removed', async () => {
    const sent = { bytes: 0 };
    const url = await listen((socket, request) => {
      if (request.startsWith('GET /v1/jobs/J1/outputs ')) return answerJson(socket, manifest(1000));
      sendForever(
        socket,
        'HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n',
        sent,
      );
    });
    const dir = join(temp, 'endless');
    const result = await timed(url, ['outputs', 'J1', '-o', dir], 120_000);
    expect(result.code, result.stderr).toBe(69);
    expect(result.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${url} sent more than the 1000 bytes the manifest gives for output big.bin ` +
        '(the partial file is removed); point --server / RUNBOX_SERVER at a runbox server, and run the command again\n',
    );
    expect(existsSync(join(dir, 'big.bin'))).toBe(false);
    // Before, the file grew by 1.7 GB in 8 s until the disk was full.
    expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
    expect(result.seconds).toBeLessThan(30);
  }, 180_000);

  it('logs of a refusal whose body never ends: exit 69 quoting its first bytes, no more than ERROR_MAX_BYTES read', async () => {
    const sent = { bytes: 0 };
    const url = await listen((socket) =>
      sendForever(socket, 'HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n\r\n<html>', sent),
    );
    const result = await timed(url, ['logs', 'J1'], 120_000);
    expect(result.code, result.stderr).toBe(69);
    expect(result.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${url} did not answer a request as a runbox server does ` +
        `(404: ${JSON.stringify(`<html>${'x'.repeat(114)}`)}); point --server / RUNBOX_SERVER at a runbox server\n`,
    );
    // Before, response.text() read it into memory until the heap gave out.
    expect(sent.bytes).toBeLessThan(ERROR_MAX_BYTES + 64 * 1024 * 1024);
    expect(result.seconds).toBeLessThan(30);
  }, 180_000);

  it('healthcheck: the status decides, an endless body is not read, a body cut off by --timeout is 69', async () => {
    const sent = { bytes: 0 };
    const endless = await listen((socket) =>
      sendForever(socket, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"ok":', sent),
    );
    const stalls = await listen((socket) =>
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"ok":'),
    );
    const [healthy, cut] = await Promise.all([
      timed(endless, ['healthcheck', '--timeout', '20'], 60_000),
      timed(stalls, ['healthcheck', '--timeout', '2'], 60_000),
    ]);
    // Before: text() read the endless body until --timeout, then exit 70 "Internal".
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.stdout).toMatch(new RegExp(`^healthy: ${endless}/healthz \\{"ok":x+\\n$`));
    expect(healthy.seconds).toBeLessThan(15);
    expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
    expect([cut.code, cut.stderr]).toEqual([
      69,
      `runbox: ServerUnavailable: ${stalls}/healthz did not finish its answer within 2 s (--timeout)\n`,
    ]);
  }, 120_000);

  it('logs and outputs -o against a server that falls silent: exit 69 after 60 s naming the request, a partial download kept to resume', async () => {
    const silent = await listen(() => {});
    const stalls = await listen((socket, request) => {
      if (request.startsWith('GET /v1/jobs/J1/outputs ')) return answerJson(socket, manifest(1000));
      startBytes(socket, 'application/octet-stream');
      socket.write('0123456789');
    });
    const headersOnly = await listen((socket, request) => {
      if (request.startsWith('GET /v1/jobs/J1/outputs ')) return answerJson(socket, manifest(1000));
      if (request.startsWith('GET /v1/jobs/J1/logs')) return startBytes(socket, 'text/plain');
      if (request.startsWith('GET /healthz ')) return startBytes(socket, 'application/json');
    });
    const job = { id: 'J1', status: 'running', queue: 'default', attempts: 1, max_attempts: 1 };
    const followed = await listen((socket, request) => {
      if (request.startsWith('GET /v1/jobs/J1 ')) answerJson(socket, job);
    });
    const fix =
      'check that runbox serve runs and answers there, or point --server / RUNBOX_SERVER at a runbox server';
    const idle = ANSWER_IDLE_MS / 1000;
    const [logs, logsBody, download, stalled, follow, doctor] = await Promise.all([
      timed(silent, ['logs', 'J1'], ANSWER_IDLE_MS + 60_000),
      timed(headersOnly, ['logs', 'J1'], ANSWER_IDLE_MS + 60_000),
      timed(headersOnly, ['outputs', 'J1', '-o', join(temp, 'silent')], ANSWER_IDLE_MS + 60_000),
      timed(stalls, ['outputs', 'J1', '-o', join(temp, 'stalled')], ANSWER_IDLE_MS + 60_000),
      timed(
        followed,
        ['logs', 'J1', '-f', '--reconnect-seconds', '1'],
        ANSWER_IDLE_MS * 2 + 90_000,
      ),
      // fetch's json() waited on the body with no clock.
      timed(headersOnly, ['doctor'], ANSWER_IDLE_MS + 60_000),
    ]);
    expect(doctor.stdout).toMatch(
      new RegExp(
        `\\nserver +FAIL +the server at ${headersOnly} sent nothing for ${idle} s in answer to GET /healthz; `,
      ),
    );
    expect(doctor.code, doctor.stdout).toBe(1);
    expect(doctor.seconds).toBeLessThan(idle + 45);
    expect(logs.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${silent} sent nothing for ${idle} s in answer to GET /v1/jobs/J1/logs?stream=stdout&follow=false; ${fix}\n`,
    );
    expect(logsBody.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${headersOnly} sent nothing for ${idle} s after 0 bytes of job J1's stdout; ` +
        'run `runbox logs J1` again: it starts from the first byte\n',
    );
    expect(download.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${headersOnly} sent nothing for ${idle} s in answer to GET /v1/jobs/J1/outputs/big.bin; ${fix}\n`,
    );
    expect(stalled.stderr).toBe(
      `runbox: ServerUnavailable: the server at ${stalls} sent nothing for ${idle} s after 10 bytes of output big.bin; ` +
        'run the same command again: it resumes the partial file\n',
    );
    expect(readFileSync(join(temp, 'stalled', 'big.bin'), 'utf8')).toBe('0123456789');
    // A follow rides out a server that does not answer for --reconnect-seconds: two waits
    // for headers, and the give-up names the last.
    expect(follow.stderr).toContain(
      `runbox: ServerUnavailable: the runbox server did not answer for 1 s (--reconnect-seconds): the server at ${followed} ` +
        `sent nothing for ${idle} s in answer to GET /v1/jobs/J1/logs?stream=stdout&follow=true&attempt=1&from=0; ` +
        'run `runbox logs J1 -f` again: it starts from the first byte\n',
    );
    for (const result of [logs, logsBody, download, stalled]) {
      expect(result.code, result.stderr).toBe(69);
      expect(result.seconds).toBeGreaterThanOrEqual(idle);
      expect(result.seconds).toBeLessThan(idle + 45);
    }
    expect(follow.code, follow.stderr).toBe(69);
    expect(follow.seconds).toBeGreaterThanOrEqual(idle * 2);
    expect(follow.seconds).toBeLessThan(idle * 2 + 60);
  }, 300_000);

  it('submit --follow of a job that prints nothing for longer than the idle clock follows it to its end', async () => {
    const script = join(temp, 'quiet.sh');
    writeFileSync(script, `echo first; sleep ${ANSWER_IDLE_MS / 1000 + 15}; echo last\n`);
    const result = await timed(
      rb.url,
      ['submit', script, '--follow', '--timeout', '300'],
      ANSWER_IDLE_MS * 3,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('first\nlast\n');
    expect(result.seconds).toBeGreaterThan(ANSWER_IDLE_MS / 1000 + 15);
  }, 240_000);

  it('an answer whose bytes keep coming is read whole, however long past the idle clock it takes', async () => {
    const job = JSON.stringify({
      id: 'J1',
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
    const result = await timed(url, ['status', 'J1', '--json'], ANSWER_IDLE_MS * 3);
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
