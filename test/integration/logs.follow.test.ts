import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import {
  getJob,
  hashBody,
  http,
  runbox,
  sha256,
  shellJob,
  streamHttp,
  submit,
  waitFinal,
} from './outputsKit.js';
import {
  cli,
  attemptMarks,
  follow,
  hostileBytes,
  jobIds,
  printf,
  quickScript,
  stallUntilAttempt,
} from './followKit.js';

/**
 * `runbox logs -f` across a job's attempts and across restarts of `runbox serve`: the
 * job's bytes on stdout exactly (random, non-ASCII, invalid UTF-8), the attempts marked
 * on stderr only, and a server that went away waited for and followed on from the byte
 * reached.
 */

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Fails (exit 3, retried) on its first two attempts and succeeds on its third, writing
 * that attempt's bytes in two writes. Each attempt runs a second before writing, so a
 * follower polling every 100 ms sees it running.
 */
function retriedScript(attempts: [Buffer, Buffer][]): string {
  return [
    'sleep 1',
    'case "$RUNBOX_ATTEMPT" in',
    ...attempts.map(
      ([a, b], i) =>
        `${i < 2 ? i + 1 : '*'}) ${printf(a)}; sleep 0.3; ${printf(b)}; exit ${i < 2 ? 3 : 0};;`,
    ),
    'esac',
  ].join('\n');
}

describe('logs -f across attempts', () => {
  const sandbox = useProcessSandbox('follow-attempts');
  /** `runbox run` on the sandbox's own database, up to 3 attempts, retried on exit 3. */
  const runRetried = (file: string, configFile: string) =>
    runCliProcess(
      [
        'run',
        file,
        '--max-attempts',
        '3',
        '--retry-on-exit',
        '3',
        '--config',
        configFile,
        '--data-dir',
        sandbox.dataDir,
      ],
      { env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '' } },
    );

  it('prints every attempt it followed, in order, marking each later one on stderr only', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { retry: { baseMs: 200, capMs: 400 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const attempts = [hostileBytes(), hostileBytes(), hostileBytes()];
    const script = retriedScript(attempts);
    const spec = { max_attempts: 3, retry_on_exit_codes: [3] };
    const id = await submit(server.url, shellJob(script, spec));
    const follower = follow(server.url, id);
    const raw = streamHttp(`${server.url}/v1/jobs/${id}/logs?follow=true`, {}, hashBody);

    expect(await follower.code, follower.stderr()).toBe(0);
    const job = await waitFinal(server.url, id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 3 });
    const all = Buffer.concat(attempts.flat());
    expect(sha256(follower.stdout())).toBe(sha256(all));
    // The HTTP follow carries the same bytes, no marker in them.
    expect((await raw).result).toEqual({ sha256: sha256(all), bytes: all.length });
    const marks = attemptMarks(follower.stderr());
    expect(marks).toEqual(['attempt 2 begins', 'attempt 3 begins']);
    // The stored log is the last attempt's.
    const stored = await runbox(server.url, ['logs', id]);
    expect(sha256(stored.stdoutBytes)).toBe(sha256(Buffer.concat(attempts[2]!)));

    // submit --follow shares the follower: the same bytes, the marks said once.
    const file = join(sandbox.dataDir, 'job.sh');
    writeFileSync(file, script);
    const submitted = await runbox(server.url, [
      'submit',
      file,
      '--follow',
      '--max-attempts',
      '3',
      '--retry-on-exit',
      '3',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(sha256(submitted.stdoutBytes)).toBe(sha256(all));
    expect(attemptMarks(submitted.stderr)).toEqual(['attempt 2 begins', 'attempt 3 begins']);
  });

  it('never skips an attempt that began and ended between two of its looks', async () => {
    // No backoff: attempts 1 and 2 fail as soon as they have written, attempt 3 runs at
    // once and waits a second. The follower is stopped (SIGSTOP, a loaded machine) from
    // attempt 1's last byte until attempt 3 runs: it once went on with attempt 3, attempt
    // 2's bytes and mark missing from its output though the job had recorded them.
    const configFile = writeTestConfig(sandbox.dataDir, { retry: { baseMs: 1, capMs: 1 } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const file = join(sandbox.dataDir, 'quick.sh');
    const retried = ['--max-attempts', '3', '--retry-on-exit', '3'];

    for (const how of ['submit --follow', 'logs -f'] as const) {
      const attempts = [hostileBytes(), hostileBytes(), hostileBytes()];
      writeFileSync(file, quickScript(attempts));
      const before = new Set(await jobIds(server.url));
      const child =
        how === 'logs -f'
          ? follow(
              server.url,
              await submit(
                server.url,
                shellJob(quickScript(attempts), {
                  max_attempts: 3,
                  retry_on_exit_codes: [3],
                }),
              ),
            )
          : cli(['submit', file, '--follow', ...retried, '--server', server.url]);
      await stallUntilAttempt(
        child,
        Buffer.concat(attempts[0]!).length,
        server.url,
        async () => (await jobIds(server.url)).find((each) => !before.has(each))!,
        3,
      );
      const id = (await jobIds(server.url)).find((each) => !before.has(each))!;
      expect(await child.code, child.stderr()).toBe(0);
      expect(await waitFinal(server.url, id)).toMatchObject({ status: 'succeeded', attempts: 3 });
      expect(sha256(child.stdout()), how).toBe(sha256(Buffer.concat(attempts.flat())));
      expect(attemptMarks(child.stderr()), how).toEqual(['attempt 2 begins', 'attempt 3 begins']);
    }

    // runbox run is handed every chunk of every attempt (LiveLogs): nothing to miss.
    const attempts = [hostileBytes(), hostileBytes(), hostileBytes()];
    writeFileSync(file, quickScript(attempts));
    const ran = await runRetried(file, configFile);
    expect(ran.code, ran.stderr).toBe(0);
    expect(sha256(ran.stdoutBytes)).toBe(sha256(Buffer.concat(attempts.flat())));
    expect(attemptMarks(ran.stderr)).toEqual(['attempt 2 begins', 'attempt 3 begins']);
  });

  it('runbox run marks each later attempt on stderr the same way', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { retry: { baseMs: 200, capMs: 400 } });
    const attempts = [hostileBytes(), hostileBytes(), hostileBytes()];
    const file = join(sandbox.dataDir, 'job.sh');
    writeFileSync(file, retriedScript(attempts));
    const ran = await runRetried(file, configFile);
    expect(ran.code, ran.stderr).toBe(0);
    expect(sha256(ran.stdoutBytes)).toBe(sha256(Buffer.concat(attempts.flat())));
    expect(attemptMarks(ran.stderr)).toEqual(['attempt 2 begins', 'attempt 3 begins']);
  });
});

describe('logs -f across a restart of runbox serve', () => {
  const sandbox = useProcessSandbox('follow-restart');
  const parts = () => [...hostileBytes(), ...hostileBytes()];
  /** Writes the first part at once, the rest after 4 s and 6 s. */
  const slowScript = (p: Buffer[]) =>
    `${printf(p[0]!)}; sleep 4; ${printf(p[1]!)}; ${printf(p[2]!)}; sleep 2; ${printf(p[3]!)}`;

  async function serve(port = 0, overrides = {}): Promise<RunboxProcess> {
    const configFile = writeTestConfig(sandbox.dataDir, overrides);
    const server = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      workers: 1,
      port,
    });
    sandbox.processes.push(server);
    return server;
  }

  it('killed (-9) and started again: waits, then goes on from the byte it reached', async () => {
    const first = await serve();
    const port = Number(new URL(first.url).port);
    const p = parts();
    const id = await submit(first.url, shellJob(slowScript(p)));
    const follower = follow(first.url, id);
    await until('the first part', () => follower.stdout().length >= p[0]!.length);
    first.kill('SIGKILL');
    await first.exited;
    await until('the follower to wait', () => follower.stderr().includes('waiting up to 60 s'));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await serve(port);

    expect(await follower.code, follower.stderr()).toBe(0);
    expect((await waitFinal(second.url, id)).status).toBe('succeeded');
    expect(follower.stderr()).toContain('the server answers again');
    const stored = await runbox(second.url, ['logs', id]);
    expect(sha256(stored.stdoutBytes)).toBe(sha256(Buffer.concat(p)));
    expect(sha256(follower.stdout())).toBe(sha256(stored.stdoutBytes));
    expect(follower.stderr()).not.toContain('begins');
  });

  it('SIGTERM (the job requeued by the drain) and started again: the next attempt follows, marked', async () => {
    const overrides = { drainTimeoutMs: 1000 };
    const first = await serve(0, overrides);
    const port = Number(new URL(first.url).port);
    const p = parts();
    const id = await submit(first.url, shellJob(slowScript(p)));
    const follower = follow(first.url, id);
    await until('the first part', () => follower.stdout().length >= p[0]!.length);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = await serve(port, overrides);

    expect(await follower.code, follower.stderr()).toBe(0);
    expect(await waitFinal(second.url, id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    const stored = await runbox(second.url, ['logs', id]);
    expect(sha256(stored.stdoutBytes)).toBe(sha256(Buffer.concat(p)));
    // Attempt 1's first part (killed by the drain before its second), then attempt 2 whole.
    expect(sha256(follower.stdout())).toBe(sha256(Buffer.concat([p[0]!, ...p])));
    expect(attemptMarks(follower.stderr())).toEqual(['attempt 2 begins']);
  });

  it('gives up with exit 69 once the server has been away for --reconnect-seconds', async () => {
    const first = await serve();
    const port = Number(new URL(first.url).port);
    const id = await submit(first.url, shellJob('echo begun; sleep 60'));
    const follower = follow(first.url, id, ['--reconnect-seconds', '2']);
    await until('the first line', () => follower.stdout().length > 0);
    first.kill('SIGKILL');
    await first.exited;
    const started = Date.now();
    expect(await follower.code).toBe(69);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(follower.stderr()).toContain(
      `runbox: ServerUnavailable: the runbox server did not answer for 2 s (--reconnect-seconds)`,
    );
    expect(follower.stderr()).toContain(`run \`runbox logs ${id} -f\` again`);
    // The job's container ran on: the next start re-attaches it; cancelled, nothing is left.
    const second = await serve(port);
    expect((await getJob(second.url, id)).status).toBe('running');
    await http(`${second.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect((await waitFinal(second.url, id)).status).toBe('cancelled');
  });

  it('refuses a --reconnect-seconds that is not a number of seconds (64)', async () => {
    const got = await runbox('http://127.0.0.1:9', [
      'logs',
      'X',
      '-f',
      '--reconnect-seconds',
      '-1',
    ]);
    expect(got.stderr).toBe(
      'runbox: UsageError: --reconnect-seconds takes a number of seconds of 0 or more, e.g. --reconnect-seconds 60\n',
    );
    expect(got.code).toBe(64);
  });
});

describe('logs -f against a server from before attempt=', () => {
  // Such a server does not run here (one executable, one build): this one answers what
  // b39c6df's `runbox serve` answered, measured against it (the 400 body is its own).
  it('falls back to the plain follow it knows, bytes exact, exit 0', async () => {
    const [a, b] = hostileBytes();
    const asked: string[] = [];
    const old = createServer((request, response) => {
      const url = request.url ?? '';
      asked.push(url);
      if (url === '/v1/jobs/OLD') {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ id: 'OLD', status: 'running', attempts: 1 }));
      } else if (url.includes('attempt=')) {
        response.statusCode = 400;
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            error: {
              type: 'InvalidSpec',
              message: 'querystring.attempt: is not a known field; see GET /openapi.json',
              field: 'querystring.attempt',
              request_id: 'r',
            },
          }),
        );
      } else {
        response.setHeader('content-type', 'application/octet-stream');
        response.write(a);
        setTimeout(() => response.end(b), 200);
      }
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = old.address() as AddressInfo;
      const follower = follow(`http://127.0.0.1:${port}`, 'OLD');
      expect(await follower.code, follower.stderr()).toBe(0);
      expect(sha256(follower.stdout())).toBe(sha256(Buffer.concat([a, b])));
      expect(follower.stderr()).toBe('');
      expect(asked).toEqual([
        '/v1/jobs/OLD',
        '/v1/jobs/OLD/logs?stream=stdout&follow=true&attempt=1&from=0',
        '/v1/jobs/OLD/logs?stream=stdout&follow=true',
      ]);
    } finally {
      old.close();
    }
  });
});
