import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigOverrides } from '../../src/config.js';
import { TEST_ALLOW, TEST_INSTANCE, TEST_RUNTIMES } from './testConfig.js';

export const RUNBOX_BUNDLE = resolve('dist/runbox.cjs');
/** The full CLI that dist/runbox.cjs loads for every command but the client ones. */
export const RUNBOX_FULL_BUNDLE = resolve('dist/runbox-full.cjs');

/** Writes a config file for a test server: local images, test instance label, overrides. */
export function writeTestConfig(dataDir: string, overrides: ConfigOverrides = {}): string {
  const file = join(dataDir, 'config.json');
  const config = {
    instance: TEST_INSTANCE,
    runtimes: TEST_RUNTIMES,
    defaults: { pullPolicy: 'never' },
    allow: TEST_ALLOW,
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface RunboxProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `runbox serve` (or `runbox worker`) from the built bundle on a free port and
 * waits until it listens (serve) or has started (worker). Run `npm run build` first;
 * `npm test` does.
 */
export async function startServerProcess(options: {
  dataDir: string;
  configFile: string;
  command?: 'serve' | 'worker';
  workers?: number;
  env?: NodeJS.ProcessEnv;
  extraArgs?: string[];
  /** serve's port: a restart on the same one; @defaultValue 0, a free one */
  port?: number;
  /** @defaultValue 20000 */
  readyTimeoutMs?: number;
}): Promise<RunboxProcess> {
  const command = options.command ?? 'serve';
  const args = [
    RUNBOX_BUNDLE,
    command,
    '--config',
    options.configFile,
    '--data-dir',
    options.dataDir,
  ];
  if (command === 'serve') args.push('--port', String(options.port ?? 0));
  if (options.workers !== undefined) args.push('--workers', String(options.workers));
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  const ready = command === 'serve' ? /listening on (http:\/\/\S+)/ : /worker pool running/;
  const url = await new Promise<string>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`runbox ${command} not ready in time; stderr:\n${stderr}`)),
      options.readyTimeoutMs ?? 20000,
    );
    const check = () => {
      const match = ready.exec(stderr);
      if (match) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolveReady(match[1] ?? '');
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`runbox ${command} exited (${code}) before it was ready; stderr:\n${stderr}`),
      );
    });
  });
  return {
    child,
    url,
    stderr: () => stderr,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/**
 * Runs a runbox CLI command from the bundle to completion. stdout and stderr are kept
 * as bytes (`stdoutBytes`, `stderrBytes`) and decoded once at the end, never per chunk.
 */
export function runCliProcess(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<{
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
}> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [RUNBOX_BUNDLE, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`runbox ${args.join(' ')} timed out; stderr:\n${Buffer.concat(err).toString()}`),
      );
    }, options.timeoutMs ?? 60000);
    // 'close', not 'exit': only then has everything the child wrote been read.
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const stderrBytes = Buffer.concat(err);
      resolveRun({
        code,
        stdout: stdoutBytes.toString(),
        stderr: stderrBytes.toString(),
        stdoutBytes,
        stderrBytes,
      });
    });
    child.stdin.end(options.input ?? '');
  });
}
