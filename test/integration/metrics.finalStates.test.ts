import { getMetricsFromIterator, type PromData, type PromHistogramData } from 'prom2javascript';
import { describe, expect, it } from 'vitest';
import { api, getJob, shellJob, submit, waitFor } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * runbox_jobs_finished_total is "jobs this process recorded in a final state": an
 * operator's alert on failures, and the sum that should match what the API lists as
 * ended. Two ways of ending record the final state outside a worker's run: a cancel
 * of a queued job (the API's transaction) and a job lost with its worker (the reaper's).
 * Both were missing from the counter, so a dead worker's WorkerLost failures never
 * showed in it.
 */

async function finishedTotals(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const family = (await getMetricsFromIterator(text.split('\n')[Symbol.iterator]()))
    .runbox_jobs_finished_total;
  const totals: Record<string, number> = {};
  for (const d of (family?.data ?? []) as PromData[]) {
    const key = `${d.labels.outcome}/${d.labels.error_type}`;
    totals[key] = (totals[key] ?? 0) + d.value;
  }
  return totals;
}

describe('runbox_jobs_finished_total', () => {
  const sandbox = useProcessSandbox('metrics-final');

  it('counts a job cancelled while queued, as the API lists it', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const later = await submit(server.url, shellJob('echo never', { run_at: '2100-01-01' }));
    const cancel = await api(server.url, 'POST', `/v1/jobs/${later.id}/cancel`);
    expect(cancel.status).toBe(200);

    const listed = await api<{ jobs: unknown[] }>(server.url, 'GET', '/v1/jobs?status=cancelled');
    expect(listed.body.jobs).toHaveLength(1);
    expect(await finishedTotals(server.url)).toEqual({ 'cancelled/Cancelled': 1 });
  });

  it('counts a job lost with its worker (kill -9) in the process whose reaper fails it', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 300, expiryMs: 2000 },
    });
    const first = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(first);
    const job = await submit(first.url, shellJob('sleep 60', { max_attempts: 1 }));
    await waitFor(
      'the job to run',
      async () => (await getJob(first.url, job.id)).status === 'running',
    );
    first.kill('SIGKILL');
    await first.exited;

    const second = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(second);
    const lost = await waitFor(
      'the reaper to fail the job',
      async () => {
        const now = await getJob(second.url, job.id);
        return now.status === 'failed' ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(lost.error?.type).toBe('WorkerLost');
    expect(await finishedTotals(second.url)).toEqual({ 'failed/WorkerLost': 1 });
  });
});

/**
 * Seen: a job that failed three times, retried twice, showed one attempt in
 * runbox_job_run_seconds and runbox_job_output_bytes, though their help says "attempts
 * this process recorded": the two retried attempts held a slot and wrote outputs too.
 */
describe('runbox_job_run_seconds and runbox_job_output_bytes', () => {
  const sandbox = useProcessSandbox('metrics-retried');

  it('observe every recorded attempt, a retried one as outcome="retried"', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const job = await submit(
      server.url,
      shellJob('printf 12345 > /outputs/o; exit 7', { max_attempts: 3, retry_on_exit_codes: [7] }),
    );
    const done = await waitFor(
      'the job to fail for good',
      async () => {
        const now = await getJob(server.url, job.id);
        return now.status === 'failed' ? now : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(done.attempts).toBe(3);

    const text = await (await fetch(new URL('/metrics', server.url))).text();
    const families = await getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
    const histogram = (name: string) => (families[name]?.data ?? []) as PromHistogramData[];
    expect(
      Object.fromEntries(
        histogram('runbox_job_run_seconds').map((d) => [d.labels.outcome, d.count]),
      ),
    ).toEqual({ retried: 2, failed: 1 });
    const [bytes, ...others] = histogram('runbox_job_output_bytes');
    expect(others).toEqual([]);
    expect(bytes).toMatchObject({ count: 3, sum: 15 });
  });
});
