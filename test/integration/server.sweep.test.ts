import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/queueProbe.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * The periodic retention sweep of `runbox serve` can fail (S3 away, a disk error, a
 * stray file in the blob folder): the failure is logged and the next pass tries again.
 * It used to be an unhandled rejection: serve exited 1 at the first failed sweep.
 */
describe('runbox serve retention sweep', () => {
  const sandbox = useProcessSandbox('sweep');

  it('logs a failed sweep and keeps serving; SIGTERM still exits 0', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { sweepIntervalMs: 100 });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    // A file where the local blob store keeps a fan-out folder: listing the blobs fails.
    writeFileSync(join(sandbox.dataDir, 'blobs', 'ab'), 'not a folder');
    const failures = () => server.stderr().split('retention sweep failed').length - 1;
    await waitFor('three failed sweeps, or the end of serve', () =>
      server.child.exitCode !== null || failures() >= 3 ? true : undefined,
    );
    expect({ exitCode: server.child.exitCode, failures: failures() >= 3 }).toEqual({
      exitCode: null,
      failures: true,
    });

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).not.toContain('triggerUncaughtException');
  });
});
