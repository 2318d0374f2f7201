// A real `runbox serve` process from the built bundle, on a free loopback port, with a
// throwaway data dir; stopped by its pid.
/* global fetch */
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BUNDLE = resolve('dist/runbox.cjs');
export const SHELL_IMAGE = 'runbox-test/shell:latest';

/**
 * Starts `runbox serve --workers N`. `workers: 0` gives an API and queue without a pool
 * (submit and read benchmarks: Docker is not in the path).
 */
export async function startServer({ workers, config = {}, command = [process.execPath, BUNDLE] }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'runbox-bench-'));
  const configFile = join(dataDir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      instance: `bench-${process.pid}`,
      runtimes: { shell: { image: SHELL_IMAGE, command: ['sh', '{script}'] } },
      defaults: { pullPolicy: 'never' },
      ...config,
    }),
  );
  const [file, ...pre] = command;
  const child = spawn(
    file,
    [
      ...pre,
      'serve',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--workers',
      String(workers),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((done) => child.on('exit', (code, signal) => done(code ?? signal)));
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`runbox serve not ready:\n${stderr}`)), 30_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+?)["\s]/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        child.stderr.off('data', check);
        resolveUrl(match[1]);
      }
    };
    child.stderr.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runbox serve exited ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid,
    dataDir,
    stderr: () => stderr,
    /** Peak resident memory so far (VmHWM), bytes. */
    peakRss() {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return Number(kb) * 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON over HTTP with fetch; throws on a non-2xx answer. */
export async function api(url, path, { method = 'GET', body } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}
