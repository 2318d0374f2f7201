import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
} from '../helpers/serverProcess.js';

/**
 * The client commands run from dist/runbox.cjs alone, a small bundle without the
 * server's code; everything else loads dist/runbox-full.cjs. Driven from outside, as
 * a user runs them.
 */

const sandbox = useProcessSandbox('client');
const cli = (args: string[]) =>
  runCliProcess(args, { env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '' } });

/** A TCP server that counts connections and answers none: any request would show. */
let listener: Server | undefined;
async function countingServer(): Promise<{ url: string; connections: () => number }> {
  let count = 0;
  listener = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', r));
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, connections: () => count };
}
afterEach(async () => {
  await new Promise((r) => (listener ? listener.close(r) : r(undefined)));
  listener = undefined;
});

/** `node <bundle> args` with the bundle at another path (a folder of its own). */
function runBundleAt(bundle: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the client bundle', () => {
  it('holds none of the server: no fastify, dockerode, SQLite, PostgreSQL or AWS SDK, under 1 MB', () => {
    const client = readFileSync(RUNBOX_BUNDLE, 'utf8');
    for (const name of [
      'node_modules/fastify/',
      'node_modules/dockerode/',
      'node_modules/better-sqlite3/',
      'node_modules/pg/',
      'node_modules/@aws-sdk/',
      'node_modules/pino/',
    ]) {
      expect(client, name).not.toContain(name);
    }
    // The full one is still there beside it, and several times larger.
    const full = statSync(RUNBOX_BUNDLE.replace(/runbox\.cjs$/, 'runbox-full.cjs')).size;
    expect(statSync(RUNBOX_BUNDLE).size).toBeLessThan(1024 * 1024);
    expect(full).toBeGreaterThan(4 * statSync(RUNBOX_BUNDLE).size);
  });

  it('submits, lists and reads a job without the full bundle on disk; serve needs it', async () => {
    const rb = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile: writeTestConfig(sandbox.dataDir, { port: 0 }),
      workers: 0,
    });
    sandbox.processes.push(rb);
    // The client bundle alone, in a folder without runbox-full.cjs.
    const alone = join(sandbox.dataDir, 'runbox.cjs');
    copyFileSync(RUNBOX_BUNDLE, alone);
    const job = join(sandbox.dataDir, 'ünïcode job.sh');
    writeFileSync(job, 'echo hello\n');
    const srv = ['--server', rb.url];

    const submitted = await runBundleAt(alone, ['submit', job, '--priority', '-3', ...srv]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[0-9A-Z]{26}$/);
    const status = await runBundleAt(alone, ['status', id, '--json', ...srv]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'queued', priority: -3 });
    const listed = await runBundleAt(alone, ['ls', '-q', ...srv]);
    expect(listed.stdout.trim().split('\n')).toEqual([id]);
    const cancelled = await runBundleAt(alone, ['cancel', id, ...srv]);
    expect(cancelled.code, cancelled.stderr).toBe(0);

    // Any other command, and --help (which lists every command), loads the full CLI.
    const serve = await runBundleAt(alone, ['serve', '--help']);
    expect(serve.code).not.toBe(0);
    expect(serve.stderr).toContain('runbox-full.cjs');
    const help = await cli(['submit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--priority');
  });
});

describe('number flags', () => {
  it('a value that is not a finite number is a usage error naming the flag, before any request', async () => {
    const { url, connections } = await countingServer();
    const job = join(sandbox.dataDir, 'job.sh');
    writeFileSync(job, 'true\n');
    const cases: [string[], string][] = [
      [['submit', job, '--priority', 'abc'], '--priority takes a number, e.g. --priority 5'],
      [['submit', job, '--priority'], '--priority takes a number'],
      [['submit', job, '--priority', ''], '--priority takes a number'],
      [['submit', job, '--cpus', 'Infinity'], '--cpus takes a number, e.g. --cpus 1.5'],
      [['submit', job, '--max-attempts=1e999'], '--max-attempts takes a number'],
      [['submit', job, '--timeout', 'NaN'], '--timeout takes a number'],
      // yargs reads these as 16 and 1: not what a person means by a number.
      [['submit', job, '--pids', '0x10'], '--pids takes a number'],
      [['submit', job, '--cpus=0b1'], '--cpus takes a number'],
      [
        ['submit', job, '--retry-on-exit', '75', '--retry-on-exit', 'x'],
        '--retry-on-exit takes a number, e.g. --retry-on-exit 75',
      ],
      [['ls', '--limit', 'ten'], '--limit takes a number'],
    ];
    for (const [args, message] of cases) {
      const result = await cli([...args, '--server', url]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(64);
      expect(result.stderr).toContain(`runbox: UsageError: ${message}`);
      expect(result.stderr).toContain(`(see \`runbox ${args[0]} --help\`)`);
    }
    expect(connections()).toBe(0);

    const asJson = await cli(['submit', job, '--pids', 'lots', '--json', '--server', url]);
    expect(asJson.code).toBe(64);
    expect(JSON.parse(asJson.stdout)).toEqual({
      error: {
        type: 'UsageError',
        message: '--pids takes a number, e.g. --pids 5 (see `runbox submit --help`)',
        field: 'pids',
      },
    });
    expect(connections()).toBe(0);
    // The full CLI's commands check the same way.
    const serve = await cli(['serve', '--port', 'eighty', '--data-dir', sandbox.dataDir]);
    expect(serve.code).toBe(64);
    expect(serve.stderr).toContain('--port takes a number, e.g. --port 7070');
  });

  it("a value that starts with a dash and a digit is the flag's value, not flags", async () => {
    const job = join(sandbox.dataDir, 'job.sh');
    writeFileSync(job, 'true\n');
    // yargs read -5m as the flags -5 and -m, and -m took the script: "got 0 non-option
    // arguments". The value reaches the spec's own check, which names the field.
    const memory = await cli(['run', '--memory', '-5m', job, '--data-dir', sandbox.dataDir]);
    expect(memory.code, memory.stderr).toBe(65);
    expect(memory.stderr).toContain('runbox: InvalidSpec: limits.memory: "-5m" is not a size');
    const cpus = await cli(['run', '--cpus', '-.5', job, '--data-dir', sandbox.dataDir]);
    expect(cpus.code, cpus.stderr).toBe(65);
    expect(cpus.stderr).toContain('limits.cpus');
  });
});
