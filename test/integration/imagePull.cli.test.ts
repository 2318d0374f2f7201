import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import { runCliProcess, writeTestConfig } from '../helpers/serverProcess.js';

/**
 * Pull policies, from the CLI: "never" with a missing image fails at once (no retry can
 * bring an image the job forbids pulling), and "always" on an image that is present but
 * cannot be pulled (no registry is reachable here) says the pull failed and why, not
 * that the image is absent.
 */
describe('pull policies from runbox run', () => {
  const sandbox = useProcessSandbox('pull');
  const run = (args: string[]) => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const script = join(sandbox.dataDir, 'job.sh');
    writeFileSync(script, 'echo ran\n');
    return runCliProcess([
      'run',
      script,
      '--json',
      '--command',
      'sh',
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
      ...args,
    ]);
  };

  it('--pull never with a missing image fails on its first attempt, exit 69', async () => {
    const { code, stdout, stderr } = await run([
      '--image',
      'runbox-test/absent-image:never',
      '--pull',
      'never',
      '--max-attempts',
      '5',
    ]);
    expect(code, stderr).toBe(69);
    const job = JSON.parse(stdout) as JobView;
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toMatchObject({ type: 'ImageUnavailable', field: 'pull_policy' });
    expect(job.error!.message).toMatch(/runbox-test\/absent-image:never is not present.*"never"/);
  });

  it('--pull always on a present image that cannot be pulled names the failed pull and its reason', async () => {
    const { code, stdout, stderr } = await run([
      '--image',
      'runbox-test/shell:latest',
      '--pull',
      'always',
      '--max-attempts',
      '1',
    ]);
    expect(code, stderr).toBe(69);
    const job = JSON.parse(stdout) as JobView;
    expect(job.error?.type).toBe('ImageUnavailable');
    expect(job.error!.message).toMatch(/pulling image runbox-test\/shell:latest failed: \S+/);
    expect(job.error!.message).toContain('a local copy exists');
    expect(job.error!.message).not.toMatch(/is not present/);
  });
});

describe('a runtime whose image the engine does not have and cannot pull', () => {
  const sandbox = useProcessSandbox('pull-runtime');

  it('fails its job naming the runtime and the ways to get the image there; no container is left', async () => {
    // A registry that refuses at once stands for a box with no registry at all.
    const configFile = writeTestConfig(sandbox.dataDir, {
      runtimes: {
        tools: { image: '127.0.0.1:9/runbox-test/tools:1', command: ['sh', '{script}'] },
      },
      defaults: { pullPolicy: 'if-not-present' },
    });
    const script = join(sandbox.dataDir, 'job.sh');
    writeFileSync(script, 'echo ran\n');
    const { code, stdout, stderr } = await runCliProcess([
      'run',
      script,
      '--json',
      '--runtime',
      'tools',
      '--max-attempts',
      '1',
      '--config',
      configFile,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(code, stderr).toBe(69);
    const job = JSON.parse(stdout) as JobView;
    expect(job.error).toMatchObject({ type: 'ImageUnavailable', field: 'image' });
    expect(job.error!.message).toMatch(
      /^runtime tools: pulling image 127\.0\.0\.1:9\/runbox-test\/tools:1 failed: .*runtimes\.tools\.image.*`runbox pull tools`/,
    );

    // runbox pull of that runtime says the same of the image it could not get.
    const pulled = await runCliProcess(['pull', 'tools', '--json', '--config', configFile]);
    expect(pulled.code, pulled.stderr).toBe(69);
    const [image] = (JSON.parse(pulled.stdout) as { images: Array<{ error: unknown }> }).images;
    expect(image!.error).toMatchObject({
      type: 'ImageUnavailable',
      field: 'image',
      message: expect.stringMatching(
        /^runtime tools: pulling image 127\.0\.0\.1:9\/runbox-test\/tools:1 failed: .*; load .* onto this engine \(docker load, docker build\) or point runtimes\.tools\.image at an image it has$/,
      ),
    });
  });
});
