import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/processAlive.js';

/**
 * A shell that starts a child, kills it with SIGKILL and then becomes `sleep`, which
 * never waits for it: the child stays a zombie for as long as the sleep runs.
 */
async function withZombie(fn: (zombie: number) => Promise<void> | void): Promise<void> {
  const parent = spawn('sh', ['-c', 'sleep 300 & echo $!; kill -9 $!; exec sleep 300'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const zombie = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('error', reject);
    });
    const deadline = Date.now() + 5000;
    const state = () => /\) (\S)/.exec(readFileSync(`/proc/${zombie}/stat`, 'latin1'))?.[1];
    while (state() !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(state()).toBe('Z');
    await fn(zombie);
  } finally {
    parent.kill('SIGKILL');
  }
}

describe('pidAlive', () => {
  it('is false for a zombie that kill(pid, 0) still finds', async () => {
    await withZombie((zombie) => {
      // The defect: signal 0 succeeds on a zombie.
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(pidAlive(zombie)).toBe(false);
    });
  });

  it('is true for a live process and for this one, false for a pid that is gone', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = child.pid!;
    expect(pidAlive(pid)).toBe(true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(pidAlive(pid)).toBe(false);
    expect(pidAlive(0)).toBe(false);
    expect(pidAlive(-1)).toBe(false);
  });

  it('reads the state after the last parenthesis of a hostile command name', () => {
    const root = mkdtempSync(join(tmpdir(), 'runbox-proc-'));
    try {
      mkdirSync(join(root, 'self'));
      writeFileSync(join(root, 'self', 'stat'), '1 (x) S 0');
      mkdirSync(join(root, '41'));
      writeFileSync(join(root, '41', 'stat'), '41 (a) R (é) S) Z 1 41 41 0 -1');
      mkdirSync(join(root, '42'));
      writeFileSync(join(root, '42', 'stat'), '42 (b) Z) S 1 42 42 0 -1');
      expect(pidAlive(41, root)).toBe(false);
      expect(pidAlive(42, root)).toBe(true);
      // /proc exists but holds no such pid: gone, without asking kill().
      expect(pidAlive(process.pid, root)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('falls back to kill(pid, 0) where there is no /proc', () => {
    const missing = join(tmpdir(), 'runbox-no-proc-here');
    expect(pidAlive(process.pid, missing)).toBe(true);
    expect(pidAlive(2 ** 22 + 12345, missing)).toBe(false);
  });
});
