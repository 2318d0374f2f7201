import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { http, listAllJobs } from '../helpers/chaosKit.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';

/**
 * Issue 11 item 4: the operator's config, not the submitter, sets the ceiling. Over
 * HTTP against a real `runbox serve` with the default allow-lists and a 256 MiB memory
 * ceiling, each request the issue saw accepted is refused with 400 naming the field and
 * the ceiling, before anything is stored; `runbox run` may raise them for its own run.
 * Item 10 (part): an idempotency key sent again with another body gets 409.
 */
const MiB = 1024 * 1024;
const JOB = { runtime: 'shell', script: { path: 'job.sh', content: 'echo ok' } };
const OPERATOR: ConfigOverrides = {
  limits: { minFreeBytes: 1 },
  ceilings: { memoryBytes: 256 * MiB, cpus: 1, pids: 512 },
  defaults: { memoryBytes: 64 * MiB },
  // The defaults a fresh install has, instead of the test helpers' allow-anything.
  allow: { networks: ['none'], images: [], pullPolicies: ['if-not-present', 'never'] },
};

async function serve(sandbox: { dataDir: string; processes: RunboxProcess[] }) {
  const configFile = writeTestConfig(sandbox.dataDir, OPERATOR);
  const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 1 });
  sandbox.processes.push(server);
  return { server, configFile };
}

describe('operator ceilings over HTTP', () => {
  const sandbox = useProcessSandbox('ceilings');

  it('refuses each request beyond the config with 400 naming the field and ceiling, storing nothing', async () => {
    const { server } = await serve(sandbox);
    const refusals: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { limits: { memory: '1000g' } },
        'limits.memory',
        /1000g is above the server's ceiling 256m \(ceilings\.memoryBytes\)/,
      ],
      [{ limits: { pids: 4_000_000 } }, 'limits.pids', /ceiling 512 \(ceilings\.pids\)/],
      [
        { limits: { cpus: 512 } },
        'limits.cpus',
        /512 is above the server's ceiling 1 \(ceilings\.cpus\)/,
      ],
      [{ network: 'bridge' }, 'network', /allow\.networks/],
      [{ timeout_seconds: 90_000 }, 'timeout_seconds', /ceilings\.timeoutSeconds/],
      [{ limits: { output_bytes: '9g' } }, 'limits.output_bytes', /ceilings\.outputBytes/],
      [{ limits: { log_bytes: '1g' } }, 'limits.log_bytes', /ceilings\.logBytes/],
      [{ pull_policy: 'always' }, 'pull_policy', /allow\.pullPolicies/],
      [
        { runtime: undefined, image: 'alpine:3.19', command: ['true'] },
        'image',
        /not allowed on this server \(allow\.images\)/,
      ],
    ];
    for (const [extra, field, message] of refusals) {
      const answer = await http(server.url, '/v1/jobs', { body: { ...JOB, ...extra } });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error).toMatchObject({ type: 'InvalidSpec', field });
      expect(answer.json.error.message).toMatch(message);
    }
    // A batch with one job beyond a ceiling is refused whole, naming that job.
    const batch = await http(server.url, '/v1/jobs/batch', {
      body: { jobs: [JOB, { ...JOB, limits: { memory: '1000g' } }] },
    });
    expect(batch.status, batch.text).toBe(400);
    expect(batch.json.error.field).toBe('jobs.1.limits.memory');
    expect(await listAllJobs(server.url)).toHaveLength(0);
    // Within the ceilings, and using a runtime's image, it runs.
    const ok = await http(server.url, '/v1/jobs?wait=true&wait_seconds=60', {
      body: { ...JOB, limits: { memory: '256m', cpus: 1, pids: 512 } },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.status).toBe('succeeded');
    expect(ok.json.result.sandbox).toMatchObject({ memory_bytes: 256 * MiB, pids_limit: 512 });
  });

  it('answers a reused idempotency key with the same job for the same body and 409 for another', async () => {
    const { server } = await serve(sandbox);
    const body = { ...JOB, idempotency_key: 'nightly-é-2026-01-01', env: { A: '1' } };
    const first = await http(server.url, '/v1/jobs', { body });
    expect(first.status, first.text).toBe(201);
    const same = await http(server.url, '/v1/jobs', {
      body: { env: { A: '1' }, ...JOB, idempotency_key: body.idempotency_key },
    });
    expect(same.status, same.text).toBe(200);
    expect(same.json.id).toBe(first.json.id);
    const other = await http(server.url, '/v1/jobs', { body: { ...body, env: { A: '2' } } });
    expect(other.status, other.text).toBe(409);
    expect(other.json.error).toMatchObject({ type: 'Conflict', field: 'idempotency_key' });
    expect(other.json.error.message).toContain('nightly-é-2026-01-01');
    expect(other.json.error.message).toContain(first.json.id);
    expect(await listAllJobs(server.url)).toHaveLength(1);

    // A batch naming one key twice (the same job sent twice, or a key for two bodies) is
    // refused whole, naming the repeat and the item it repeats; SQLite and PostgreSQL
    // used to answer it differently.
    const twice = await http(server.url, '/v1/jobs/batch', {
      body: { jobs: [{ ...JOB, idempotency_key: 'b-ø' }, JOB, { ...JOB, idempotency_key: 'b-ø' }] },
    });
    expect(twice.status, twice.text).toBe(400);
    expect(twice.json.error).toMatchObject({
      type: 'InvalidSpec',
      field: 'jobs.2.idempotency_key',
    });
    expect(twice.json.error.message).toContain('jobs.0');
    // Keys the two backends would store differently: a lone surrogate, NUL.
    for (const key of ['\ud800', 'a\u0000b']) {
      const odd = await http(server.url, '/v1/jobs', { body: { ...JOB, idempotency_key: key } });
      expect(odd.status, odd.text).toBe(400);
      expect(odd.json.error).toMatchObject({ type: 'InvalidSpec', field: 'idempotency_key' });
    }
    expect(await listAllJobs(server.url)).toHaveLength(1);
    // The job runs meanwhile: it ends before the test does, so no container outlives it.
    const done = await http(server.url, `/v1/jobs/${first.json.id}?wait=true&wait_seconds=60`);
    expect(done.json.status).toBe('succeeded');
  });

  it('refuses the same over the CLI (submit exits 65), while run raises the ceiling for its own run', async () => {
    const { server, configFile } = await serve(sandbox);
    // Prints the memory limit the container got (cgroup v1 or v2).
    const script = join(sandbox.dataDir, 'job.sh');
    writeFileSync(
      script,
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max\n',
    );
    const submit = await runCliProcess([
      'submit',
      script,
      '--memory',
      '1g',
      '--server',
      server.url,
    ]);
    expect(submit.code, submit.stderr).toBe(65);
    expect(submit.stderr).toContain('ceilings.memoryBytes');
    const refusedNetwork = await runCliProcess([
      'submit',
      script,
      '--network',
      'bridge',
      '--server',
      server.url,
    ]);
    expect(refusedNetwork.code).toBe(65);
    // runbox run is the operator of its run: the same config, its own flags win.
    const run = await runCliProcess([
      'run',
      script,
      '--memory',
      '1g',
      '--network',
      'bridge',
      '--config',
      configFile,
      '--data-dir',
      join(sandbox.dataDir, 'run'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(String(1024 * MiB));
  });
});
