import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { api, containersOfJob, getJob, shellJob, submit, waitFor } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * A cancel accepted while a job's container has already exited and its outputs are
 * being collected (a real `runbox serve`, a real container): its answer said the job
 * was running and the cancel requested, so the job must end cancelled, not succeeded,
 * with its exit code and every collected output kept and downloadable.
 */
describe('cancel while outputs are collected', () => {
  const sandbox = useProcessSandbox('cancel-collect');

  it('ends the job cancelled, its exit code and outputs kept', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    // 200 MB of incompressible files: collecting them takes seconds here.
    const job = await submit(
      server.url,
      shellJob(
        'for i in $(seq 1 200); do head -c 1000000 /dev/urandom > "$RUNBOX_OUTPUTS/f$i"; done\n' +
          'echo written\n',
        { limits: { output_bytes: '1g', output_files: 1000 } },
      ),
    );
    await waitFor(
      'the container to exit while the job is still running',
      async () =>
        (await containersOfJob(TEST_INSTANCE, job.id)).includes('exited') &&
        (await getJob(server.url, job.id)).status === 'running',
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const cancel = await api<JobView>(server.url, 'POST', `/v1/jobs/${job.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('running');

    const ended = await waitFor(
      'the job to end',
      async () => {
        const now = await getJob(server.url, job.id);
        return now.status !== 'running' && now;
      },
      { timeoutMs: 60_000 },
    );
    expect(ended.status).toBe('cancelled');
    expect(ended.error?.type).toBe('Cancelled');
    expect(ended.result?.exit_code).toBe(0);
    expect(ended.result?.error?.type).toBe('Cancelled');
    expect(ended.result?.outputs).toHaveLength(200);
    const file = await fetch(`${server.url}/v1/jobs/${job.id}/outputs/f200`);
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBe(1_000_000);
  }, 120_000);
});
