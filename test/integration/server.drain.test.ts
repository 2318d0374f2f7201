import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelledContainers } from '../helpers/leftovers.js';
import {
  api,
  watchContainerStarts,
  getJob,
  openReadOnly,
  shellJob,
  sleep,
  submit,
  waitFor,
} from '../helpers/queueProbe.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * SIGTERM drains: the server stops claiming, running jobs get drainTimeoutMs, the short
 * one finishes, the long one is killed and released back to the queue (its attempt
 * keeps its number but is not counted against max_attempts, no failure recorded), the
 * process exits 0, and the next start runs it.
 */

const DRAIN_MS = 2500;

describe('runbox serve on SIGTERM', () => {
  const sandbox = useProcessSandbox('drain');

  it('finishes short jobs, requeues long ones, exits 0; the next start runs them, even a --max-attempts 1 one', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir, {
      drainTimeoutMs: DRAIN_MS,
      lease: { heartbeatMs: 300, expiryMs: 3000 },
    });
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(first);
    const short = await submit(first.url, {
      ...shellJob('echo short-start; sleep 1; echo short-end'),
      priority: -2,
    });
    // Sleeps past the drain timeout. Its one attempt is not spent by the drain.
    const long = await submit(first.url, {
      ...shellJob('echo long-start; sleep 4; echo long-end'),
      priority: -1,
      max_attempts: 1,
    });
    const waiting = await submit(first.url, shellJob('echo waiting'));
    await waitFor('both slots running a container', async () => {
      const states = (await labelledContainers(TEST_INSTANCE)).map((c) => c.State);
      return states.filter((s) => s === 'running').length === 2;
    });

    const signalledAt = Date.now();
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const took = Date.now() - signalledAt;
    // It waited for the drain, then did not linger after killing the long job.
    expect(took).toBeGreaterThanOrEqual(DRAIN_MS - 200);
    expect(took).toBeLessThan(DRAIN_MS + 8000);
    expect(first.stderr()).toContain('SIGTERM: draining');
    // The log says which job went back and why.
    const requeued = first
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; job?: string; reason?: string })
      .filter((l) => l.msg === 'job requeued');
    expect(requeued).toContainEqual(expect.objectContaining({ job: long.id, reason: 'drain' }));
    // The killed container was removed on the way out.
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);

    // Read what the drain left, straight from the database, before anything restarts.
    const db = openReadOnly(join(sandbox.dataDir, 'runbox.db'));
    const row = (id: string) =>
      db
        .prepare(
          'SELECT status, attempts, released_attempts, error_type, result, lease_owner, finished_at FROM jobs WHERE id = ?',
        )
        .get(id) as {
        status: string;
        attempts: number;
        released_attempts: number;
        error_type: string | null;
        result: string | null;
        lease_owner: string | null;
        finished_at: number | null;
      };
    const shortRow = row(short.id);
    expect(shortRow.status).toBe('succeeded');
    expect(shortRow.attempts).toBe(1);
    const longRow = row(long.id);
    expect(longRow).toMatchObject({
      status: 'queued',
      attempts: 1,
      released_attempts: 1,
      error_type: null,
      result: null,
      lease_owner: null,
      finished_at: null,
    });
    // Never claimed: the pool stopped claiming on the signal.
    expect(row(waiting.id)).toMatchObject({ status: 'queued', attempts: 0 });
    const workers = db.prepare('SELECT stopped_at FROM workers').all() as Array<{
      stopped_at: number | null;
    }>;
    expect(workers.map((w) => w.stopped_at !== null)).toEqual([true]);
    db.close();

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 2 });
    sandbox.processes.push(second);
    for (const id of [long.id, waiting.id]) {
      const job = await waitFor(
        `${id} final`,
        async () => {
          const j = await getJob(second.url, id);
          return j.status !== 'queued' && j.status !== 'running' && j;
        },
        { timeoutMs: 30_000 },
      );
      expect(job.status).toBe('succeeded');
    }
    const longFinal = await getJob(second.url, long.id);
    expect(longFinal).toMatchObject({ attempts: 2, released_attempts: 1, max_attempts: 1 });
    const shown = await runCliProcess(['status', long.id, '--server', second.url]);
    expect(shown.stdout).toContain('attempts:  2/1 (1 drained)\n');
    const stdout = await fetch(new URL(`/v1/jobs/${long.id}/logs`, second.url));
    expect(await stdout.text()).toBe('long-start\nlong-end\n');
    expect((await getJob(second.url, short.id)).attempts).toBe(1);

    const starts = await watch.stop();
    expect(starts.get(short.id)).toEqual([1]);
    expect(starts.get(long.id)).toEqual([1, 2]);
    expect(starts.get(waiting.id)).toEqual([1]);

    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('clients connected before the signal get the end of a job that finishes in the drain', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { drainTimeoutMs: 30_000 });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const job = await submit(server.url, shellJob('echo begun; sleep 3; echo ended'));
    await waitFor('its container running', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    const follower = runCliProcess(['logs', '-f', job.id, '--server', server.url]);
    // Caught, so a cut connection fails the expectations below, not the run.
    const waiter = fetch(new URL(`/v1/jobs/${job.id}?wait=true&wait_seconds=60`, server.url)).then(
      async (r) => ({ status: r.status, body: (await r.json()) as { status: string } }),
      (error: unknown) => ({ status: 0, body: { status: String(error) } }),
    );
    const raw = await fetch(new URL(`/v1/jobs/${job.id}/logs?follow=true`, server.url));
    const rawText = raw.text().catch((error: unknown) => String(error));
    // The raw follower's headers have come; the CLI's request is in flight by now too.
    await sleep(1000);

    server.kill('SIGTERM');
    // They were cut at the signal while the job ran on and finished: the follower lost
    // the rest of its log.
    const followed = await follower;
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('begun\nended\n');
    expect(await rawText).toBe('begun\nended\n');
    expect(await waiter).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'succeeded' }),
    });
    expect(await server.exited).toBe(0);
  });

  it('answers while it drains: submit --follow gets its exit code, a new submit 503; it ends with a stopped line', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { drainTimeoutMs: 30_000 });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const script = join(sandbox.dataDir, 'job.sh');
    writeFileSync(script, 'echo begun; sleep 3; echo ended; exit 3\n');
    const submitter = runCliProcess(['submit', script, '--follow', '--server', server.url]);
    await waitFor('its container running', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    // Its one slot is taken: this job waits for the next start.
    const queued = await submit(server.url, shellJob('echo next'));
    const waiter = api<{ status: string }>(
      server.url,
      'GET',
      `/v1/jobs/${queued.id}?wait=true&wait_seconds=60`,
    ).catch((error: unknown) => ({ status: 0, body: { status: String(error) } }));
    server.kill('SIGTERM');
    await waitFor('the drain to begin', () => server.stderr().includes('draining'));

    const refused = await api<{ error: { type: string; message: string } }>(
      server.url,
      'POST',
      '/v1/jobs',
      shellJob('echo late'),
    );
    expect(refused.status).toBe(503);
    expect(refused.body.error.type).toBe('ServerUnavailable');
    expect(refused.body.error.message).toContain('stopping');
    // A load balancer sees it leave: /healthz answered 200 'ok' through the drain.
    const health = await api<{ status: string }>(server.url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 503, body: { status: 'draining' } });
    // Its follow ended with the job, and then the job's final state was refused (69):
    // the listener had closed at the signal.
    const submitted = await submitter;
    expect(submitted.stdout).toBe('begun\nended\n');
    expect(submitted.code).toBe(3);
    // The wait for a job left queued answers with it as it is: its connection was cut.
    expect(await waiter).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'queued' }),
    });
    expect(await server.exited).toBe(0);
    // It ends with a stopped line, after its job's 3 s, and nothing after it.
    const lines = server
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event?: string; drain_ms?: number; msg: string });
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ event: 'stopped' });
    expect(last.drain_ms).toBeGreaterThan(1000);
    expect(last.msg).toMatch(/^runbox: stopped after draining for \d+\.\d s$/);
  });

  it('SIGHUP (the terminal it ran in closed) drains as SIGTERM does', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { drainTimeoutMs: 30_000 });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const job = await submit(server.url, shellJob('echo begun; sleep 2; echo ended'));
    await waitFor('its container running', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    server.kill('SIGHUP');
    // It died of the signal at once, its job's container left running and its
    // worker still registered as alive.
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain('SIGHUP: draining');
    const db = openReadOnly(join(sandbox.dataDir, 'runbox.db'));
    const row = db.prepare('SELECT status FROM jobs WHERE id = ?').get(job.id);
    db.close();
    expect(row).toEqual({ status: 'succeeded' });
  });

  it('a second signal stops at once (130); the next start adopts the job still running', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir, {
      drainTimeoutMs: 30_000,
      lease: { heartbeatMs: 300, expiryMs: 3000 },
    });
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(first);
    const job = await submit(first.url, shellJob('echo begun; sleep 3; echo ended'));
    await waitFor('its container running', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    const signalledAt = Date.now();
    first.kill('SIGTERM');
    await waitFor('the drain to begin', () => first.stderr().includes('draining'));
    first.kill('SIGTERM');
    expect(await first.exited).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(2500);
    // It said "running jobs requeue on the next start": they are re-attached instead.
    expect(first.stderr()).toContain(
      'SIGTERM again: stopping now. Running containers go on: the next runbox serve or worker ' +
        'here re-attaches each as the same attempt and records its result (also of one that ' +
        'ended meanwhile); a job whose container is gone is retried (WorkerLost), or fails if ' +
        'that was its last attempt.',
    );

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(second);
    const final = await waitFor(
      'the adopted job to finish',
      async () => {
        const j = await getJob(second.url, job.id);
        return j.status !== 'queued' && j.status !== 'running' && j;
      },
      { timeoutMs: 30_000 },
    );
    expect(final.status).toBe('succeeded');
    expect(final.attempts).toBe(1);
    const stdout = await fetch(new URL(`/v1/jobs/${job.id}/logs`, second.url));
    expect(await stdout.text()).toBe('begun\nended\n');
    expect((await watch.stop()).get(job.id)).toEqual([1]);
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
