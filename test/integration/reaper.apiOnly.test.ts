import { describe, expect, it } from 'vitest';
import { containersOfJob, getJob, shellJob, submit, waitFor } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/**
 * `runbox serve --workers 0` beside a `runbox worker` on one database: when the worker
 * dies with kill -9, the API-only node is the only one left, and its reaper must end
 * the lost job (here its last attempt: failed, WorkerLost) and remove its container,
 * instead of leaving it running forever.
 */
describe('an API-only serve', () => {
  const sandbox = useProcessSandbox('reaper-api');

  it('reaps the jobs of a worker killed with -9, and removes their containers', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      lease: { heartbeatMs: 300, expiryMs: 3000 },
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    sandbox.processes.push(worker);

    const job = await submit(server.url, shellJob('sleep 600\n', { max_attempts: 1 }));
    await waitFor(
      'the job to run in the worker process',
      async () => (await containersOfJob(TEST_INSTANCE, job.id)).includes('running'),
      { timeoutMs: 30_000 },
    );
    worker.kill('SIGKILL');
    await worker.exited;

    const ended = await waitFor(
      'the API-only node to reap the job',
      async () => {
        const now = await getJob(server.url, job.id);
        return now.status !== 'running' && now;
      },
      { timeoutMs: 20_000 },
    );
    expect(ended.status).toBe('failed');
    expect(ended.error?.type).toBe('WorkerLost');
    await waitFor(
      'the lost attempt container to be removed',
      async () => (await containersOfJob(TEST_INSTANCE, job.id)).length === 0,
      { timeoutMs: 20_000 },
    );
  }, 90_000);
});
