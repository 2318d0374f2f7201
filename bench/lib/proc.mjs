// Child processes for the cases: run to completion, or start and stop by pid.
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** Milliseconds since the epoch, sub-millisecond, comparable across processes. */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a command to its end. Resolves with its exit code, output and wall time; rejects
 * on a non-zero exit unless allowFailure.
 */
export function run(command, args, options = {}) {
  const { allowFailure = false, input, timeoutMs = 600_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout, stderr, ms: now() - start };
      if (code !== 0 && !allowFailure) {
        const tail = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}:\n${tail}`));
      } else resolve(result);
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin?.end();
  });
}

/** Whether a command is on PATH. */
export async function have(command) {
  const { code } = await run('sh', ['-c', `command -v ${command}`], { allowFailure: true });
  return code === 0;
}

/** Installs Debian packages if a command is missing (as scripts/test-env does). */
export async function ensureApt(command, packages, log) {
  if (await have(command)) return true;
  log(`installing ${packages.join(' ')} (apt)`);
  await run('apt-get', ['update', '-qq'], { allowFailure: true });
  const { code } = await run('apt-get', ['install', '-y', '-qq', ...packages], {
    allowFailure: true,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return code === 0 && (await have(command));
}

/** The last JSON line a command printed. */
export function lastJson(stdout) {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (!line) throw new Error(`no JSON result line in:\n${stdout.slice(-2000)}`);
  return JSON.parse(line);
}
