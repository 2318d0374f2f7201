import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import {
  api,
  containersOfJob,
  getJob,
  shellJob,
  submit,
  waitFor,
  watchContainerStarts,
} from '../helpers/queueProbe.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * A worker process that stops answering (SIGSTOP) loses its leases: the reaper in
 * another process requeues its job as WorkerLost (or fails it when its attempts are
 * spent), another worker runs it, and the stalled worker's late result is rejected
 * when it wakes. `runbox workers` shows it dead meanwhile, alive again after.
 * Along the way: cancelling a running job kills its container and keeps its partial
 * output.
 */

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

describe('lease expiry across processes', () => {
  const sandbox = useProcessSandbox('lease');

  it('requeues a stalled worker’s job as WorkerLost, fails one out of attempts, rejects the late result', async () => {
    const watch = await watchContainerStarts(TEST_INSTANCE);
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 200, expiryMs: 1500 },
      workerDeadMs: 2500,
      retry: { baseMs: 300, capMs: 600 },
    });
    // The server's one slot is kept busy, so only the worker process can take jobs.
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const blocker = await submit(server.url, {
      ...shellJob('echo partial-out; echo partial-err >&2; sleep 60; echo never'),
      priority: -10,
    });
    await waitFor('the blocker running', async () =>
      (await containersOfJob(TEST_INSTANCE, blocker.id)).includes('running'),
    );

    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 2,
    });
    sandbox.processes.push(worker);
    const retried = await submit(server.url, {
      ...shellJob('sleep 2; echo "attempt done"'),
      max_attempts: 3,
    });
    const spent = await submit(server.url, {
      ...shellJob('sleep 2; echo "attempt done"'),
      max_attempts: 1,
    });
    for (const job of [retried, spent]) {
      await waitFor(`${job.id} running in the worker process`, async () =>
        (await containersOfJob(TEST_INSTANCE, job.id)).includes('running'),
      );
    }

    worker.child.kill('SIGSTOP');
    const stoppedAt = Date.now();

    const lost = await waitFor('the retried job requeued', async () => {
      const j = await getJob(server.url, retried.id);
      return j.status === 'queued' && j;
    });
    // Not before the lease ran out.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1000);
    expect(lost.attempts).toBe(1);
    expect(lost.error?.type).toBe('WorkerLost');
    expect(lost.error?.message).toMatch(/lease expired.*attempt 1 of 3/);
    const failed = await waitFor('the spent job failed', async () => {
      const j = await getJob(server.url, spent.id);
      return FINAL.has(j.status) && j;
    });
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed.error?.type).toBe('WorkerLost');
    expect(failed.error?.message).toMatch(/attempt 1 of 1/);

    // `runbox workers`: the stalled one is dead, the server's pool alive.
    const listed = await waitFor('the stalled worker shown dead', async () => {
      const { code, stdout } = await runCliProcess(['workers', '--json', '--server', server.url]);
      expect(code).toBe(0);
      const body = JSON.parse(stdout) as { workers: Array<{ pid: number; state: string }> };
      const state = body.workers.find((w) => w.pid === worker.child.pid)?.state;
      return state === 'dead' && body;
    });
    expect(listed.workers.find((w) => w.pid === server.child.pid)?.state).toBe('alive');
    const table = await runCliProcess(['workers', '--server', server.url]);
    expect(table.stdout).toMatch(new RegExp(`dead\\s.*\\s${worker.child.pid}\\s`));

    // Cancel the running blocker: killed now, ends cancelled, its partial output kept.
    const cancel = await api<JobView>(server.url, 'POST', `/v1/jobs/${blocker.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(['running', 'cancelled']).toContain(cancel.body.status);
    const cancelled = await waitFor(
      'the blocker cancelled',
      async () => {
        const j = await getJob(server.url, blocker.id);
        return FINAL.has(j.status) && j;
      },
      { timeoutMs: 15_000 },
    );
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error?.type).toBe('Cancelled');
    expect(cancelled.attempts).toBe(1);
    const stdout = await fetch(new URL(`/v1/jobs/${blocker.id}/logs`, server.url));
    expect(await stdout.text()).toBe('partial-out\n');
    const stderr = await fetch(new URL(`/v1/jobs/${blocker.id}/logs?stream=stderr`, server.url));
    expect(await stderr.text()).toBe('partial-err\n');

    // The freed server slot runs the requeued job as attempt 2.
    const done = await waitFor(
      'the requeued job done',
      async () => {
        const j = await getJob(server.url, retried.id);
        return FINAL.has(j.status) && j;
      },
      { timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, error: null });

    // The stalled worker wakes: its late results are rejected, nothing changes.
    worker.child.kill('SIGCONT');
    await waitFor(
      'the stalled worker to notice',
      () => (worker.stderr().match(/late result rejected/g) ?? []).length >= 2,
      { timeoutMs: 15_000 },
    );
    expect(worker.stderr()).toContain('lease lost');
    const after = await getJob(server.url, retried.id);
    expect(after).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(after.result?.exit_code).toBe(0);
    expect(await getJob(server.url, spent.id)).toMatchObject({ status: 'failed', attempts: 1 });
    await waitFor('the woken worker shown alive', async () => {
      const { body } = await api<{ workers: Array<{ pid: number; state: string }> }>(
        server.url,
        'GET',
        '/v1/workers',
      );
      return body.workers.find((w) => w.pid === worker.child.pid)?.state === 'alive';
    });

    // What really ran: attempt 1 of each in the worker, attempt 2 of the retried one.
    await waitFor('old containers removed', async () => {
      const left = await Promise.all(
        [retried, spent, blocker].map((j) => containersOfJob(TEST_INSTANCE, j.id)),
      );
      return left.every((l) => l.length === 0);
    });
    const starts = await watch.stop();
    expect(starts.get(retried.id)).toEqual([1, 2]);
    expect(starts.get(spent.id)).toEqual([1]);
    expect(starts.get(blocker.id)).toEqual([1]);

    worker.kill('SIGTERM');
    server.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await server.exited).toBe(0);
  });
});
