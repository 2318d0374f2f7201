import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { planContainer } from '../../src/executor/containerConfig.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { api } from '../helpers/queueProbe.js';
import { runCliProcess, startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { testConfig } from '../helpers/testConfig.js';

/*
 * This machine has no GPU and its engine no GPU runtime. So: the engine's own view of
 * the container runbox plans (HostConfig.DeviceRequests after a real create), the
 * refusal at submit when the config does not allow GPUs, and the typed failure at run
 * when it does but the engine cannot give any.
 */

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});
const specOf = (extra: Record<string, unknown>) => ({
  runtime: 'shell',
  script: { path: 'job.sh', content: 'echo must not run' },
  ...extra,
});
const job = (extra: Record<string, unknown>) => ({ ...specOf(extra), max_attempts: 3 });

describe('GPU jobs', () => {
  const sandbox = useProcessSandbox('gpus');

  it.each([
    [2, { Count: 2, DeviceIDs: [] }],
    ['all', { Count: -1, DeviceIDs: [] }],
    [
      ['0', 'GPU-8a1b2c3d-aaaa-bbbb-cccc-0123456789ab'],
      { Count: 0, DeviceIDs: ['0', 'GPU-8a1b2c3d-aaaa-bbbb-cccc-0123456789ab'] },
    ],
  ] as const)(
    'gpus %j becomes the engine’s DeviceRequests on the created container, like docker run --gpus',
    async (gpus, expected) => {
      const { config, cleanup } = testConfig({ gpus: { allow: true } });
      const spec = parseJobSpec(specOf({ gpus }), config);
      const scratch = {
        root: sandbox.dataDir,
        work: join(sandbox.dataDir, 'w'),
        outputs: join(sandbox.dataDir, 'o'),
      };
      mkdirSync(scratch.work);
      mkdirSync(scratch.outputs);
      const { options } = planContainer({
        identity: { instance: `gpu-test-${process.pid}`, database: `gpu-test-${process.pid}` },
        spec,
        jobId: `gpu${process.pid}`,
        attempt: 1,
        scratch,
      });
      const container = await docker.createContainer(options);
      try {
        const info = await container.inspect();
        expect(info.HostConfig.DeviceRequests).toEqual([
          { Driver: '', ...expected, Capabilities: [['gpu']], Options: {} },
        ]);
      } finally {
        await container.remove({ force: true });
        cleanup();
      }
    },
  );

  it('a CPU job asks the engine for no devices', () => {
    const { config, cleanup } = testConfig({ gpus: { allow: true } });
    const spec = parseJobSpec(specOf({}), config);
    const { options } = planContainer({
      identity: { instance: 'cpu-test', database: 'cpu-test' },
      spec,
      jobId: 'cpu',
      attempt: 1,
      scratch: { root: '/x', work: '/x/w', outputs: '/x/o' },
    });
    expect(options.HostConfig?.DeviceRequests).toBeUndefined();
    cleanup();
  });

  it('is refused at submit (400 InvalidSpec naming gpus) when the server does not allow GPUs, by the API and the CLI', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { port: 0 });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const refused = await api<{ error: { type: string; field: string; message: string } }>(
      server.url,
      'POST',
      '/v1/jobs',
      job({ gpus: 1 }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'gpus',
      message: expect.stringMatching(/does not run GPU jobs.*"gpus": \{"allow": true\}/),
    });
    // The API's route validation once said "gpus: expected union value (got 0)", naming
    // nothing that would do, where the CLI's parser named the choices.
    const choices = /must be a count from 1 to 64, "all", or device IDs/;
    for (const bad of [0, [], 'two', [''], -1]) {
      const invalid = await api<{ error: { type: string; field: string; message: string } }>(
        server.url,
        'POST',
        '/v1/jobs',
        job({ gpus: bad }),
      );
      expect({ bad, status: invalid.status, field: invalid.body.error.field }).toEqual({
        bad,
        status: 400,
        field: 'gpus',
      });
      expect(invalid.body.error.message).toMatch(choices);
    }
    const batch = await api<{ error: { field: string; message: string } }>(
      server.url,
      'POST',
      '/v1/jobs/batch',
      { jobs: [job({}), job({ gpus: 0 })] },
    );
    expect(batch.status).toBe(400);
    expect(batch.body.error.field).toBe('jobs.1.gpus');
    expect(batch.body.error.message).toMatch(choices);
    const script = join(sandbox.dataDir, 'job.sh');
    writeFileSync(script, 'echo must not run\n');
    const cli = await runCliProcess(['submit', script, '--gpus', '2', '--server', server.url], {
      env: { RUNBOX_CONFIG: '', RUNBOX_TOKEN: '' },
    });
    expect(cli.code).toBe(65);
    expect(cli.stderr).toMatch(/InvalidSpec: gpus: this server does not run GPU jobs/);
    const { body } = await api<{ jobs: unknown[] }>(server.url, 'GET', '/v1/jobs');
    expect(body.jobs).toEqual([]);
  });

  it('when allowed on an engine without a GPU runtime, the job fails once with a typed error naming gpus, not Internal', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { port: 0, gpus: { allow: true } });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
    sandbox.processes.push(server);
    const { status, body } = await api<JobView>(
      server.url,
      'POST',
      '/v1/jobs?wait=true&wait_seconds=60',
      job({ gpus: ['0'] }),
    );
    expect(status).toBe(201);
    expect(body.status).toBe('failed');
    expect(body.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'gpus',
      message: expect.stringMatching(
        /this Docker engine has no GPU runtime \(could not select device driver "" with capabilities: \[\[gpu\]\]\)/,
      ),
    });
    // Retrying on the same engine cannot help: one attempt, though three were allowed.
    expect(body.attempts).toBe(1);
    expect(body.result?.stdout.bytes).toBe(0);

    // runbox run: its user is the operator, so --gpus is allowed and meets the same engine.
    const script = join(sandbox.dataDir, 'local.sh');
    writeFileSync(script, 'echo must not run\n');
    const local = await runCliProcess(
      [
        'run',
        script,
        '--gpus',
        'all',
        '--config',
        writeTestConfig(sandbox.dataDir, { port: 0 }),
        '--data-dir',
        sandbox.dataDir,
      ],
      { env: { RUNBOX_CONFIG: '' } },
    );
    expect(local.code).toBe(65);
    expect(local.stdout).not.toContain('must not run');
    expect(local.stderr).toMatch(/InvalidSpec: gpus: this Docker engine has no GPU runtime/);
  });
});
