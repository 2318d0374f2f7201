import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * The CLI from the built bundle: `runbox run` exits with the job's own code (or the
 * documented code for a timeout or an invalid spec) and streams output live; the
 * client commands against a real `runbox serve`; and the bind/token rules of serve.
 */

/** `runbox run ARGS` as a child process, its output gathered as it comes. */
function spawnRun(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [RUNBOX_BUNDLE, 'run', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (seen.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (seen.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, seen, exited };
}

/** Waits (up to 20 s) until `ready()` holds. */
async function until(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs the CLI, noting when each stdout/stderr chunk arrived and when it exited. */
function runTimed(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{
    code: number | null;
    stdout: Array<{ text: string; at: number }>;
    stderr: Array<{ text: string; at: number }>;
    exitedAt: number;
  }>((resolve, reject) => {
    const child = spawn(process.execPath, [RUNBOX_BUNDLE, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Array<{ text: string; at: number }> = [];
    const stderr: Array<{ text: string; at: number }> = [];
    child.stdout.on('data', (c: Buffer) => stdout.push({ text: c.toString(), at: Date.now() }));
    child.stderr.on('data', (c: Buffer) => stderr.push({ text: c.toString(), at: Date.now() }));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runbox ${args.join(' ')} timed out`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, exitedAt: Date.now() });
    });
  });
}

const text = (chunks: Array<{ text: string }>) => chunks.map((c) => c.text).join('');

describe('runbox run', () => {
  let dataDir: string;
  let configFile: string;
  const base = () => ['--config', configFile, '--data-dir', dataDir];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-run-'));
    configFile = writeTestConfig(dataDir);
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("exits with the job's exit code and streams stdout and stderr as they are written", async () => {
    const script = join(dataDir, 'three.sh');
    writeFileSync(script, 'echo out-1\necho err-1 >&2\nsleep 2\necho out-2\nexit 3\n');
    const run = await runTimed(['run', script, ...base()]);
    expect(run.code).toBe(3);
    expect(text(run.stdout)).toBe('out-1\nout-2\n');
    expect(text(run.stderr)).toContain('err-1\n');
    expect(text(run.stderr)).toMatch(/NonZeroExit/);
    // The first lines arrived while the job was still sleeping, not at the end.
    const firstOut = run.stdout.find((c) => c.text.includes('out-1'))!;
    const firstErr = run.stderr.find((c) => c.text.includes('err-1'))!;
    expect(run.exitedAt - firstOut.at).toBeGreaterThanOrEqual(1500);
    expect(run.exitedAt - firstErr.at).toBeGreaterThanOrEqual(1500);
  });

  it('exits 0 for a job that succeeds, and prints the final job with --json', async () => {
    const script = join(dataDir, 'ok.py');
    writeFileSync(script, 'print("hello from python")\n');
    const { code, stdout, stderr } = await runCliProcess(['run', script, '--json', ...base()]);
    expect(code).toBe(0);
    // stdout is the one JSON document (`| jq` works); the job's own output is on stderr.
    const job = JSON.parse(stdout) as JobView;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(stderr).toContain('hello from python\n');
  });

  it('carries a 48 MiB binary --file byte for byte, stored once beside a small job row', async () => {
    // Before migration 011 the file sat in the job's row, rewritten at the claim, every
    // heartbeat and the finish: 40 MB took 12 s and 100 MB did not finish in 300 s.
    const input = randomBytes(48 * 1024 * 1024);
    const inputPath = join(dataDir, 'big input ☃.bin');
    writeFileSync(inputPath, input);
    const script = join(dataDir, 'sum.sh');
    writeFileSync(script, 'sha256sum "data/in.bin" | cut -c1-64\n');
    const { code, stdout, stderr } = await runCliProcess([
      'run',
      script,
      '--file',
      `${inputPath}:data/in.bin`,
      ...base(),
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe(createHash('sha256').update(input).digest('hex'));
    const db = new Database(join(dataDir, 'runbox.db'), { readonly: true });
    try {
      const row = db
        .prepare(
          `SELECT length(j.spec) AS spec, length(i.files) AS files FROM jobs j
           JOIN job_inputs i ON i.job_id = j.id ORDER BY j.id DESC LIMIT 1`,
        )
        .get() as { spec: number; files: number };
      expect(row.spec).toBeLessThan(1024);
      expect(row.files).toBeGreaterThan((input.length * 4) / 3);
    } finally {
      db.close();
    }
  });

  it('exits 124 for a timeout', async () => {
    const script = join(dataDir, 'slow.sh');
    writeFileSync(script, 'echo started\nsleep 30\n');
    const started = Date.now();
    const { code, stdout, stderr } = await runCliProcess([
      'run',
      script,
      '--timeout',
      '1',
      ...base(),
    ]);
    expect(code).toBe(124);
    expect(stdout).toBe('started\n');
    expect(stderr).toMatch(/Timeout/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('cancels its job on SIGINT: exits 130, output so far kept, container removed', async () => {
    const script = join(dataDir, 'forever.sh');
    writeFileSync(script, 'echo begun\nsleep 60\n');
    const { child, seen, exited } = spawnRun([script, ...base()]);
    await until(() => seen.stdout.includes('begun'));
    expect(seen.stdout).toBe('begun\n');
    const signalledAt = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(seen.stderr).toMatch(/Cancelled/);
  });

  it('is held back by a reader that stops reading, as a pipe holds a program back, and its output arrives whole', async () => {
    const script = join(dataDir, 'flood.sh');
    const size = 32 * 1024 * 1024;
    writeFileSync(script, `echo begun >&2\nsleep 1\nhead -c ${size} /dev/zero\n`);
    const child = spawn(process.execPath, [RUNBOX_BUNDLE, 'run', script, ...base()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Nobody reads stdout yet: the pipe fills and stays full.
    child.stdout.pause();
    await until(() => stderr.includes('begun'));
    await new Promise((resolve) => setTimeout(resolve, 4000));
    // Before: runbox read the job's 32 MiB into memory as fast as it came, the job ended
    // within a second, and a stalled reader grew runbox's memory with the whole output.
    const running = (await labelledContainers(TEST_INSTANCE)).filter((c) => c.State === 'running');
    expect(running.length, stderr).toBe(1);
    let bytes = 0;
    child.stdout.on('data', (c: Buffer) => (bytes += c.length));
    child.stdout.resume();
    expect(await exited, stderr).toBe(0);
    expect(bytes).toBe(size);
  }, 60_000);

  it.each([
    ['SIGHUP (its terminal closed)', ['SIGHUP']],
    ['SIGTERM', ['SIGTERM']],
    ['a second SIGINT while a job that ignores SIGTERM is being stopped', ['SIGINT', 'SIGINT']],
  ] as const)(
    'on %s: still cancels, waits for the container to go, exits 130',
    async (_, signals) => {
      const script = join(dataDir, 'stubborn.sh');
      writeFileSync(script, "trap '' TERM\necho begun\nwhile true; do sleep 0.2; done\n");
      const { child, seen, exited } = spawnRun([script, ...base()]);
      await until(() => seen.stdout.includes('begun'));
      expect(seen.stdout).toBe('begun\n');
      for (const signal of signals) {
        child.kill(signal);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      // Before: SIGHUP, or the second SIGINT, ended the process at once and the job's
      // container ran on with nobody to remove it (afterEach finds it).
      expect(await exited, seen.stderr).toBe(130);
      expect(seen.stderr).toMatch(/Cancelled/);
    },
    30_000,
  );

  it('on SIGINT while its image is being pulled: abandons the pull and exits 130 at once, the job cancelled', async () => {
    // A "registry" that accepts connections and never answers: only the engine's own
    // client timeout (about 15 s) or pull.timeoutSeconds would end the pull.
    const sockets: Socket[] = [];
    const hang = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const registry = `127.0.0.1:${(hang.address() as AddressInfo).port}`;
    try {
      const script = join(dataDir, 'never.sh');
      writeFileSync(script, 'echo never\n');
      const { child, seen, exited } = spawnRun([
        script,
        '--image',
        `${registry}/no/such:v1`,
        '--pull',
        'always',
        ...base(),
      ]);
      await until(() => sockets.length > 0);
      expect(sockets.length, 'the engine never reached the registry').toBeGreaterThan(0);
      const signalledAt = Date.now();
      child.kill('SIGINT');
      // Before: the pull went on until the engine gave up on the registry (about 15 s),
      // and the job was then recorded as cancelled after an ImageUnavailable attempt.
      expect(await exited, seen.stderr).toBe(130);
      expect(Date.now() - signalledAt).toBeLessThan(5000);
      const id = /job (\S+) cancelled/.exec(seen.stderr)?.[1];
      expect(id, seen.stderr).toBeDefined();
      const status = await runCliProcess(['status', id!, '--json', ...base()]);
      const job = JSON.parse(status.stdout) as JobView;
      expect(job.status).toBe('cancelled');
      expect(job.result?.error?.type).toBe('Cancelled');
    } finally {
      for (const socket of sockets) socket.destroy();
      hang.close();
    }
  }, 40_000);

  it("on SIGINT before its job exists: exits 130 with --json's one document, nothing run", async () => {
    // The engine reached through a relay that holds each connection 1.5 s: the signal
    // comes while runbox is still starting. It killed runbox at once, printing nothing.
    const relayPath = join(dataDir, 'slow-engine.sock');
    const opened: Socket[] = [];
    const relay = createServer((client) => {
      opened.push(client);
      client.pause();
      setTimeout(() => {
        const engine = connect('/var/run/docker.sock');
        opened.push(engine);
        client.pipe(engine).pipe(client);
        client.resume();
        engine.on('error', () => client.destroy());
        client.on('error', () => engine.destroy());
      }, 1500);
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    try {
      const script = join(dataDir, 'never-early.sh');
      writeFileSync(script, 'echo never\n');
      const { child, seen, exited } = spawnRun([script, '--json', ...base()], {
        DOCKER_HOST: `unix://${relayPath}`,
      });
      await until(() => opened.length > 0);
      expect(opened.length, 'runbox never asked the engine').toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited, seen.stderr).toBe(130);
      expect(JSON.parse(seen.stdout)).toEqual({
        error: {
          type: 'Cancelled',
          message: 'stopped by SIGINT before the job was submitted',
          field: null,
        },
      });
      const listed = await runCliProcess(['ls', '--json', ...base()], {
        env: { RUNBOX_SERVER: '' },
      });
      const jobs = (JSON.parse(listed.stdout) as { jobs: JobView[] }).jobs;
      expect(jobs.filter((job) => job.spec.script?.path === 'never-early.sh')).toEqual([]);
    } finally {
      for (const socket of opened) socket.destroy();
      relay.close();
    }
  }, 40_000);

  it('a run killed with -9: the next run, however short, fails its job WorkerLost and removes its container', async () => {
    // Its own data dir, with a lease that expires in 1.5 s instead of 30 (the reaper ticks every second).
    const own = mkdtempSync(join(tmpdir(), 'runbox-run-orphan-'));
    const args = [
      '--config',
      writeTestConfig(own, { lease: { heartbeatMs: 1000, expiryMs: 1500 }, workerDeadMs: 1200 }),
      '--data-dir',
      own,
    ];
    const script = join(own, 'orphan.sh');
    writeFileSync(script, 'echo begun\nsleep 60\n');
    const { child, seen, exited } = spawnRun([script, '--json', ...args]);
    await until(() => seen.stderr.includes('begun'));
    child.kill('SIGKILL');
    await exited;
    const [container] = await labelledContainers(TEST_INSTANCE);
    const orphan = container?.Labels['io.runbox.job'];
    expect(orphan, 'the killed run left its container').toBeDefined();
    // Before: the reaper's first pass came a second after the pool started, so a run
    // shorter than that left the dead run's job 'running' and its container up.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const quick = join(own, 'quick.sh');
    writeFileSync(quick, 'echo quick\n');
    expect((await runCliProcess(['run', quick, ...args])).code).toBe(0);
    const status = await runCliProcess(['status', orphan!, '--json', ...args]);
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'failed',
      error: { type: 'WorkerLost' },
    });
    rmSync(own, { recursive: true, force: true });
  }, 60_000);

  it('exits 65 for an invalid spec, naming the field, without running anything', async () => {
    const script = join(dataDir, 'never.sh');
    writeFileSync(script, 'echo ran\n');
    const bad = await runCliProcess(['run', script, '--runtime', 'cobol', ...base()]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/InvalidSpec/);
    expect(bad.stderr).toContain('cobol');
    expect(bad.stdout).toBe('');
    const memory = await runCliProcess(['run', script, '--memory', '1k', ...base()]);
    expect(memory.code).toBe(65);
    expect(memory.stderr).toContain('limits.memory');
    const missing = await runCliProcess(['run', join(dataDir, 'nope.sh'), ...base()]);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('nope.sh');
  });
});

describe('client commands against runbox serve', () => {
  let dataDir: string;
  let server: RunboxProcess;
  const srv = () => ['--server', server.url];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-client-'));
    server = await startServerProcess({
      dataDir,
      configFile: writeTestConfig(dataDir),
      workers: 2,
    });
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => {
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('submit --wait exits with the job code; --follow streams its output; status, ls', async () => {
    const script = join(dataDir, 'seven.sh');
    writeFileSync(script, 'echo to-out\necho to-err >&2\nexit 7\n');
    const waited = await runCliProcess(['submit', script, '--wait', ...srv()]);
    expect(waited.code).toBe(7);
    expect(waited.stdout).toMatch(/status:\s+failed/);
    expect(waited.stdout).toMatch(/exit code:\s+7/);

    const followed = await runTimed(['submit', script, '--follow', ...srv()]);
    expect(followed.code).toBe(7);
    expect(text(followed.stdout)).toBe('to-out\n');
    expect(text(followed.stderr)).toContain('to-err\n');

    const id = /^id:\s+(\S+)/m.exec(waited.stdout)![1]!;
    const status = await runCliProcess(['status', id, '--json', ...srv()]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'failed', attempts: 1 });
    const listed = await runCliProcess(['ls', '--status', 'failed', '--json', ...srv()]);
    expect((JSON.parse(listed.stdout) as { jobs: JobView[] }).jobs.map((j) => j.id)).toContain(id);
    // --stderr picks the job's stream; it prints on stdout, so `> err.txt` captures it.
    const logs = await runCliProcess(['logs', id, '--stderr', ...srv()]);
    expect(logs.stdout).toBe('to-err\n');
    expect(logs.stderr).toBe('');
  });

  it('an idempotency key returns the existing job; cancel ends a queued job at once', async () => {
    const script = join(dataDir, 'later.sh');
    writeFileSync(script, 'echo later\n');
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const args = ['submit', script, '--idempotency-key', 'once', '--run-at', later, ...srv()];
    const first = await runCliProcess(args);
    expect(first.code).toBe(0);
    const again = await runCliProcess(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('existing job');
    const id = first.stdout.trim();
    expect(again.stdout.split(' ')[0]).toBe(id);

    const cancelled = await runCliProcess(['cancel', id, '--json', ...srv()]);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id, status: 'cancelled', attempts: 0 });
  });

  it('an unknown job exits 66 (NotFound); an unreachable server 69', async () => {
    const unknown = await runCliProcess(['status', '01ZZZZZZZZZZZZZZZZZZZZZZZZ', ...srv()]);
    expect(unknown.code).toBe(66);
    expect(unknown.stderr).toMatch(/NotFound/);
    const down = await runCliProcess(['ls', '--server', 'http://127.0.0.1:1']);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain('runbox serve');
  });

  it('queues shows jobs due apart from jobs scheduled for later', async () => {
    const later = await fetch(new URL('/v1/jobs', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        runtime: 'shell',
        command: ['true'],
        queue: 'later-only',
        run_at: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(later.status).toBe(201);
    const { code, stdout } = await runCliProcess(['queues', ...srv()]);
    expect(code).toBe(0);
    const rows = stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));
    expect(rows[0]!.slice(0, 5)).toEqual(['QUEUE', 'QUEUED', 'DUE', 'SCHEDULED', 'RUNNING']);
    expect(rows.find((r) => r[0] === 'later-only')!.slice(0, 5)).toEqual([
      'later-only',
      '1',
      '0',
      '1',
      '0',
    ]);
  });

  it('workers lists this server’s pool as alive', async () => {
    const { code, stdout } = await runCliProcess(['workers', '--json', ...srv()]);
    expect(code).toBe(0);
    const { workers } = JSON.parse(stdout) as { workers: Array<{ pid: number; state: string }> };
    expect(workers).toEqual([expect.objectContaining({ pid: server.child.pid, state: 'alive' })]);
  });
});

describe('runbox serve binding', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-bind-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a non-loopback address without a token: exit 78, says to set RUNBOX_TOKEN', async () => {
    const configFile = writeTestConfig(dataDir);
    const { code, stderr } = await runCliProcess(
      ['serve', '--config', configFile, '--data-dir', dataDir, '--host', '0.0.0.0', '--port', '0'],
      { env: { RUNBOX_TOKEN: '' } },
    );
    expect(code).toBe(78);
    expect(stderr).toContain('RUNBOX_TOKEN');
  });

  it('a port another program holds exits 78 naming port (serve) and metrics-port (worker)', async () => {
    // Seen from outside: a second installation started on the first one's port got
    // "Internal: listen EADDRINUSE" and exit 70, the code for a runbox bug.
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const { port } = holder.address() as AddressInfo;
    try {
      const configFile = writeTestConfig(dataDir);
      const serve = await runCliProcess([
        'serve',
        '--config',
        configFile,
        '--data-dir',
        dataDir,
        '--port',
        String(port),
      ]);
      expect(serve.code).toBe(78);
      expect(serve.stderr).toContain(`InvalidConfig: port: 127.0.0.1:${port} is in use`);
      const worker = await runCliProcess([
        'worker',
        '--config',
        configFile,
        '--data-dir',
        dataDir,
        '--workers',
        '1',
        '--metrics-port',
        String(port),
      ]);
      expect(worker.code).toBe(78);
      expect(worker.stderr).toContain(`InvalidConfig: metrics-port: 127.0.0.1:${port} is in use`);
      const range = await runCliProcess([
        'worker',
        '--config',
        configFile,
        '--data-dir',
        dataDir,
        '--metrics-port',
        '99999',
      ]);
      expect(range.code).toBe(78);
      expect(range.stderr).toContain('metrics-port: 99999 is not a TCP port');
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  it('with RUNBOX_TOKEN it starts; requests need the token, /healthz does not', async () => {
    const token = 'cli-test-token';
    const configFile = writeTestConfig(dataDir);
    const server = await startServerProcess({
      dataDir,
      configFile,
      workers: 0,
      extraArgs: ['--host', '0.0.0.0'],
      env: { RUNBOX_TOKEN: token },
    });
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/v1/jobs`)).status).toBe(401);
      const withToken = await fetch(`${url}/v1/jobs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(withToken.status).toBe(200);
      const denied = await runCliProcess(['ls', '--server', url], { env: { RUNBOX_TOKEN: '' } });
      expect(denied.code).toBe(77);
      const allowed = await runCliProcess(['ls', '--server', url], {
        env: { RUNBOX_TOKEN: token },
      });
      expect(allowed.code).toBe(0);
    } finally {
      server.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });
});
