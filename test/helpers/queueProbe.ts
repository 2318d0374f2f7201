import Database from 'better-sqlite3';
import Docker from 'dockerode';
import type { JobView } from '../../src/api/jobView.js';

/**
 * Helpers for the queue/worker/server tests: a small HTTP client, polling, an
 * independent count of container starts from the engine's event log, and a read-only
 * look at the database.
 */

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

export async function api<T = unknown>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(new URL(path, url), {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function submit(url: string, body: unknown): Promise<JobView> {
  const { status, body: job } = await api<JobView>(url, 'POST', '/v1/jobs', body);
  if (status !== 201) throw new Error(`submit answered ${status}: ${JSON.stringify(job)}`);
  return job;
}

export async function submitBatch(url: string, jobs: unknown[]): Promise<JobView[]> {
  const { status, body } = await api<{ jobs: JobView[] }>(url, 'POST', '/v1/jobs/batch', { jobs });
  if (status !== 201) throw new Error(`batch answered ${status}: ${JSON.stringify(body)}`);
  return body.jobs;
}

export async function getJob(url: string, id: string): Promise<JobView> {
  const { status, body } = await api<JobView>(url, 'GET', `/v1/jobs/${id}`);
  if (status !== 200) throw new Error(`GET job answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** Polls until check() returns a value other than undefined/false, or fails with what it saw. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A shell job: `script` runs under sh in the test shell image. */
export function shellJob(
  script: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { runtime: 'shell', script: { path: 'job.sh', content: script }, ...extra };
}

/**
 * Records container starts per job id (each with its attempt label) from the engine's
 * live event stream: what really ran, independent of what runbox recorded. Start it
 * before the jobs run: the engine keeps only the last 256 events for `since` queries.
 */
export async function watchContainerStarts(
  instance: string,
): Promise<{ stop(): Promise<Map<string, number[]>> }> {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['start'], label: [`io.runbox.instance=${instance}`] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const starts = new Map<string, number[]>();
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { Actor: { Attributes: Record<string, string> } };
      const jobId = event.Actor.Attributes['io.runbox.job'];
      if (!jobId) continue;
      const attempts = starts.get(jobId) ?? [];
      attempts.push(Number(event.Actor.Attributes['io.runbox.attempt']));
      starts.set(jobId, attempts);
    }
  });
  return {
    async stop() {
      // Events reach the stream a moment after the engine acts.
      await sleep(300);
      stream.destroy();
      return starts;
    },
  };
}

/** State of one container by name fragment (any state), or null. */
export async function containersOfJob(instance: string, jobId: string): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`io.runbox.instance=${instance}`, `io.runbox.job=${jobId}`] },
  });
  return list.map((c) => c.State);
}

/** A read-only connection to a runbox database that other processes are writing. */
export function openReadOnly(dbPath: string): Database.Database {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

export { docker };
