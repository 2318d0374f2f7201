import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { RUNBOX_BUNDLE } from '../helpers/serverProcess.js';
import { getJob } from './outputsKit.js';

/**
 * Followers of retried jobs, for logs.follow and postgres.followAttempts: bytes no
 * decoder keeps whole, scripts that fail fast, and the CLI as a process that can be
 * stopped while attempts go by.
 */

/** Bytes no decoder keeps whole: random, a lone 0xff, and `é` split across two writes. */
export function hostileBytes(): [Buffer, Buffer] {
  return [
    Buffer.concat([randomBytes(1500), Buffer.from([0xff, 0xc3])]),
    Buffer.concat([Buffer.from([0xa9]), randomBytes(1500), Buffer.from('\n')]),
  ];
}

/** A printf of exactly these bytes: each one octal-escaped. */
export const printf = (bytes: Buffer) =>
  `printf '${[...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}'`;

/** `runbox logs ID -f` as a process, its stdout kept as bytes. */
export function follow(url: string, id: string, extra: string[] = []) {
  return cli(['logs', id, '-f', '--server', url, ...extra]);
}

/** The built CLI as a process, its stdout kept as bytes; pause and resume stop and go on. */
export function cli(args: string[]) {
  const child = spawn(process.execPath, [RUNBOX_BUNDLE, ...args], {
    env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
  });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    code,
    stdout: () => Buffer.concat(out),
    stderr: () => stderr,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}

/** The ids of the jobs a server has. */
export async function jobIds(url: string): Promise<string[]> {
  const page = (await (await fetch(`${url}/v1/jobs?limit=1000`)).json()) as {
    jobs: { id: string }[];
  };
  return page.jobs.map((job) => job.id);
}

/**
 * Fails (exit 3, retried) on its first two attempts once it has written their bytes;
 * the third waits a second, then writes its bytes and succeeds. Attempt 1 waits a second
 * before it ends, so a follower started right after the submit (slow on a loaded machine)
 * has begun before it: one that begins later follows from the job's current attempt, and
 * attempt 1's bytes were missing from its output. Attempt 2 ends at once unless `paced`.
 */
export function quickScript(attempts: [Buffer, Buffer][], paced = false): string {
  return [
    'case "$RUNBOX_ATTEMPT" in',
    ...attempts.map(([a, b], i) =>
      i < 2
        ? `${i + 1}) ${printf(a)}; ${printf(b)};${i === 0 || paced ? ' sleep 1;' : ''} exit 3;;`
        : `*) sleep 1; ${printf(a)}; ${printf(b)}; exit 0;;`,
    ),
    'esac',
  ].join('\n');
}

/**
 * Stops `child` (SIGSTOP, as a loaded machine stalls a process) once it has printed
 * `bytes` bytes, until job `id` on `url` runs its attempt `attempt`.
 */
export async function stallUntilAttempt(
  child: ReturnType<typeof cli>,
  bytes: number,
  url: string,
  id: () => Promise<string>,
  attempt: number,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (child.stdout().length < bytes) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${bytes} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.pause();
  try {
    const jobId = await id();
    let job = await getJob(url, jobId);
    while (job.attempts < attempt || job.status !== 'running') {
      expect(job.status, `attempt ${attempt} of ${jobId} to run`).not.toBe('succeeded');
      await new Promise((resolve) => setTimeout(resolve, 20));
      job = await getJob(url, jobId);
    }
  } finally {
    child.resume();
  }
}

/** The attempt lines a follower (or `runbox run`) wrote on stderr, in order. */
export const attemptMarks = (stderr: string) => stderr.match(/attempt \d+ begins/g);
