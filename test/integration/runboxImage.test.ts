import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { contractLabelValue } from '../../src/contract/compatibility.js';
import { CURRENT_CONTRACT } from '../../src/contract/contract.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import { api, waitFor } from '../helpers/queueProbe.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';

/*
 * runbox's own image, as a staging box runs it: built offline by scripts/build-image from
 * dist/runbox, started with the host's Docker socket and the data dir at the same path,
 * driven from the host by the CLI, stopped (drain) and killed and started again (recovery).
 */

const run = promisify(execFile);
const docker = async (...args: string[]) => (await run('docker', args)).stdout.trim();

const TAG = `runbox-test/runbox-image:${process.pid}`;
const NAME = `runbox-image-test-${process.pid}`;
const TOKEN = 'image-test-token';
const BINARY = resolve('dist/runbox');

describe("runbox's own container image", () => {
  let dataDir: string;
  let otherDir: string;
  let url: string;
  const host = (...args: string[]) =>
    runCliProcess([...args, '--server', url], {
      env: { RUNBOX_CONFIG: '', RUNBOX_TOKEN: TOKEN, CI: '' },
      timeoutMs: 90_000,
    });
  const health = () => docker('inspect', '-f', '{{.State.Health.Status}}', NAME);
  const untilHealthy = () =>
    waitFor('the container reports healthy', async () => (await health()) === 'healthy', {
      timeoutMs: 60_000,
      intervalMs: 300,
    });

  beforeAll(async () => {
    // The single binary takes ~3 minutes to build the first time, ~15 s after; CI
    // packages before the image tests run, so usually it is there already.
    // A dist/runbox left from before a contract change would build an image that
    // rightly fails the label check: package again then too.
    const stale = () =>
      !spawnSync(BINARY, ['--version'], { encoding: 'utf8' }).stdout?.includes(
        CURRENT_CONTRACT.fingerprint,
      );
    if (!existsSync(BINARY) || stale()) {
      const packaged = spawnSync('npm', ['run', 'package'], { stdio: 'inherit' });
      if (packaged.status !== 0) throw new Error('npm run package failed');
    }
    const built = spawnSync('bash', ['scripts/build-image', TAG], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`scripts/build-image failed:\n${built.stderr}`);

    dataDir = mkdtempSync(join(tmpdir(), 'runbox-image-'));
    otherDir = mkdtempSync(join(tmpdir(), 'runbox-image-other-'));
    writeTestConfig(dataDir, {
      port: 7070,
      drainTimeoutMs: 30_000,
      lease: { heartbeatMs: 500, expiryMs: 5000 },
    });
    await docker(
      'run',
      '-d',
      '--name',
      NAME,
      '--stop-timeout',
      '60',
      '--health-interval',
      '1s',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${dataDir}:${dataDir}`,
      '-e',
      `RUNBOX_DATA_DIR=${dataDir}`,
      '-e',
      `RUNBOX_CONFIG=${dataDir}/config.json`,
      '-e',
      `RUNBOX_TOKEN=${TOKEN}`,
      '-p',
      '127.0.0.1::7070',
      TAG,
    );
    url = `http://${await docker('port', NAME, '7070/tcp')}`;
  }, 900_000);

  afterAll(async () => {
    await docker('rm', '-f', NAME).catch(() => '');
    await expectNoLeftoverContainers(TEST_INSTANCE);
    await docker('rmi', '-f', TAG).catch(() => '');
    for (const dir of [dataDir, otherDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries OCI labels, this build’s contract (the strict CI gate passes) and a HEALTHCHECK through runbox healthcheck', async () => {
    const config = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', TAG)) as {
      Labels: Record<string, string>;
      Healthcheck: { Test: string[] };
      Env: string[];
    };
    expect(config.Labels['io.runbox.contract']).toBe(contractLabelValue());
    expect(config.Labels['org.opencontainers.image.title']).toBe('runbox');
    expect(config.Labels['org.opencontainers.image.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(config.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    expect(config.Healthcheck.Test).toEqual([
      'CMD',
      '/usr/local/bin/runbox',
      'healthcheck',
      '--timeout',
      '5',
    ]);
    expect(config.Env).toContain('RUNBOX_DATA_DIR=/var/lib/runbox');
    // No curl: the health check is runbox itself.
    const curl = await docker(
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      TAG,
      '-c',
      'command -v curl wget || echo none',
    );
    expect(curl).toBe('none');
    const gate = await runCliProcess(
      ['contract', 'check', '--require-label', '--against', `image:${TAG}`],
      { env: { RUNBOX_CONFIG: '' } },
    );
    expect({ code: gate.code, stderr: gate.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('turns healthy, runs a job submitted from the host, and its outputs come back byte for byte', async () => {
    await untilHealthy();
    const outside = await host('healthcheck');
    expect(outside.code).toBe(0);
    expect(outside.stdout).toMatch(/^healthy: .*"status":"ok"/);
    // Nothing listening: not healthy, and says why (no curl needed for any of it).
    const closed = await runCliProcess(['healthcheck', '--server', 'http://127.0.0.1:9']);
    expect(closed.code).toBe(69);
    expect(closed.stderr).toMatch(
      /ServerUnavailable: http:\/\/127\.0\.0\.1:9\/healthz did not answer/,
    );
    const script = join(otherDir, 'job.sh');
    writeFileSync(script, 'printf "h\\303\\251llo\\n" > "/outputs/résumé 1.txt"\necho ran\n');
    const submitted = await host('submit', script, '--wait', '--json');
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout) as JobView;
    expect(job.status).toBe('succeeded');
    const outputs = join(otherDir, 'out');
    const downloaded = await host('outputs', job.id, '-o', outputs);
    expect({ code: downloaded.code, stderr: downloaded.stderr }).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(join(outputs, 'résumé 1.txt'), 'utf8')).toBe('héllo\n');
  });

  it('runbox doctor passes the same-path check inside it, and fails clearly when the data dir is mounted from elsewhere', async () => {
    const inside = await run('docker', ['exec', NAME, 'runbox', 'doctor', '--json']).catch(
      (error: { stdout: string }) => error,
    );
    const checks = (JSON.parse(inside.stdout) as { checks: Array<{ name: string; state: string }> })
      .checks;
    expect(checks.find((c) => c.name === 'data directory seen by the engine')?.state).toBe('ok');

    // The same path inside, another folder outside: job folders would arrive empty.
    const wrong = await run('docker', [
      'run',
      '--rm',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${otherDir}:${dataDir}`,
      '-e',
      `RUNBOX_DATA_DIR=${dataDir}`,
      '-e',
      `RUNBOX_RUNTIMES=${JSON.stringify({ shell: { image: 'runbox-test/shell:latest', command: ['sh', '{script}'] } })}`,
      TAG,
      'doctor',
      '--json',
    ]).then(
      () => {
        throw new Error('doctor passed with the data dir mounted from another folder');
      },
      (error: { code: number; stdout: string }) => error,
    );
    expect(wrong.code).toBe(1);
    const failed = (
      JSON.parse(wrong.stdout) as {
        checks: Array<{ name: string; state: string; detail: string; fix?: string }>;
      }
    ).checks.find((c) => c.name === 'data directory seen by the engine');
    expect(failed).toMatchObject({
      state: 'fail',
      detail: expect.stringMatching(/another folder.*empty \/work/),
      fix: expect.stringContaining(`-v ${dataDir}:${dataDir}`),
    });
  });

  it('drains on docker stop: the running job finishes, the container exits 0', async () => {
    const script = join(otherDir, 'slow.sh');
    writeFileSync(script, 'sleep 3; echo drained > /outputs/d.txt\n');
    const submitted = await host('submit', script, '--json');
    const { id } = JSON.parse(submitted.stdout) as JobView;
    await waitFor('its container runs', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    await docker('stop', NAME);
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', NAME)).toBe('0');
    expect((await run('docker', ['logs', NAME])).stderr).toContain('SIGTERM: draining');
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);

    await docker('start', NAME);
    url = `http://${await docker('port', NAME, '7070/tcp')}`;
    await untilHealthy();
    const job = (await api<JobView>(url, 'GET', `/v1/jobs/${id}`, undefined, auth())).body;
    expect({ status: job.status, attempts: job.attempts }).toEqual({
      status: 'succeeded',
      attempts: 1,
    });
  });

  it('recovers after a kill: the job whose runbox died mid-run is finished by the next start', async () => {
    const script = join(otherDir, 'killed.sh');
    writeFileSync(script, 'sleep 4; echo survived\n');
    const { id } = JSON.parse((await host('submit', script, '--json')).stdout) as JobView;
    await waitFor('its container runs', async () =>
      (await labelledContainers(TEST_INSTANCE)).some((c) => c.State === 'running'),
    );
    await docker('kill', NAME); // SIGKILL: no drain, the job container is left running
    await docker('start', NAME);
    url = `http://${await docker('port', NAME, '7070/tcp')}`;
    await untilHealthy();
    const job = await waitFor(
      'the job finishes after the restart',
      async () => {
        const { body } = await api<JobView>(url, 'GET', `/v1/jobs/${id}`, undefined, auth());
        return ['succeeded', 'failed'].includes(body.status) ? body : false;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    expect(job.status).toBe('succeeded');
    expect((await host('logs', id)).stdout).toContain('survived');
  });
});

function auth(): Record<string, string> {
  return { authorization: `Bearer ${TOKEN}` };
}
