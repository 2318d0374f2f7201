import { describe, expect, it } from 'vitest';
import { getJob, shellJob, submit, waitFor } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * A run_at in the past is accepted (due at once). The queue wait it reports (the
 * histogram runbox_job_queue_wait_seconds and the 'job started' line's queue_wait_ms)
 * counts from its submit, never from a due time before the job existed: 1970 put 56
 * years into the histogram's sum.
 */
describe('queue wait of a job submitted with run_at in the past', () => {
  const sandbox = useProcessSandbox('wait-past');

  it('counts from its submit, not from 1970', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const job = await submit(server.url, shellJob('true\n', { run_at: '1970-01-01T00:00:00Z' }));
    expect(job.run_at).toBe('1970-01-01T00:00:00.000Z');
    await waitFor(
      'the job to succeed',
      async () => (await getJob(server.url, job.id)).status === 'succeeded',
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const sum = /^runbox_job_queue_wait_seconds_sum\{[^}]*\} (\S+)$/m.exec(metrics);
    expect(sum, metrics).not.toBeNull();
    expect(Number(sum![1])).toBeLessThan(60);
    const line = server
      .stderr()
      .split('\n')
      .find((l) => l.includes('"job started"'));
    expect(line, server.stderr()).toBeDefined();
    expect((JSON.parse(line!) as { queue_wait_ms: number }).queue_wait_ms).toBeLessThan(60_000);
  }, 60_000);
});
