import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createDockerExecutor, type DockerExecutor } from '../../src/executor/index.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_IDENTITY, TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

/**
 * A runbox that is not root (the staging unit runs as its own user in the docker group)
 * cannot remove what a job left in a folder the job made (mode 0755, the job's uid): each
 * such job used to leave its scratch folder behind for good. The test process plays that
 * runbox with seteuid/setegid (the whole process), so it must be root, as CI is.
 */
const NOT_ROOT = 4242;
const dockerGid = () =>
  Number(execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2]);

function asRunbox(uid: number, gid: number): void {
  if (!process.seteuid || !process.setegid) throw new Error('seteuid is POSIX only');
  // The group first: once the uid is not root, the group cannot change.
  if (uid === 0) {
    process.seteuid(0);
    process.setegid(gid);
  } else {
    process.setegid(gid);
    process.seteuid(uid);
  }
}

describe.runIf(process.getuid?.() === 0)('scratch folders of a runbox that is not root', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let executor: DockerExecutor;

  beforeAll(async () => {
    ({ config, cleanup } = testConfig());
    const store = await createFileBlobStore(config);
    execFileSync('chown', ['-R', `${NOT_ROOT}:${NOT_ROOT}`, config.dataDir]);
    executor = createDockerExecutor({ config, store, identity: TEST_IDENTITY });
  });
  afterEach(() => asRunbox(0, 0));
  afterAll(async () => {
    await expectNoLeftoverContainers(TEST_INSTANCE);
    cleanup?.();
  });

  it('are removed whole after a job that made folders of its own, and its outputs are kept', async () => {
    const script = [
      'mkdir -p /outputs/d/e /work/w/x',
      'echo out > /outputs/d/e/f',
      'echo work > /work/w/x/g',
      // Folders their owner may not even write or enter any more.
      'chmod 500 /outputs/d /work/w',
      'chmod 000 /work/w/x',
    ].join(' && ');
    const spec = parseJobSpec(
      { runtime: 'shell', script: { path: 'a.sh', content: script } },
      config,
    );
    asRunbox(NOT_ROOT, dockerGid());
    const result = await executor.run({ jobId: 'not-root', attempt: 1, spec });
    asRunbox(0, 0);
    expect(result.error, JSON.stringify(result.error)).toBeNull();
    expect(result.outputs.map((o) => o.path)).toEqual(['d/e/f']);
    expect(readdirSync(join(config.dataDir, 'scratch'))).toEqual([]);
  });
  it.each([
    ['/outputs only', 'mkdir -p /outputs/a/b && echo v > /outputs/a/b/f', ['a/b/f']],
    [
      '/work only',
      'mkdir -p /work/a/b && echo v > /work/a/b/f && echo o > /outputs/o.txt',
      ['o.txt'],
    ],
  ])(
    'are removed whole when the job made folders in %s (the other is gone before the clearing)',
    async (_where, script, outputs) => {
      const spec = parseJobSpec(
        { runtime: 'shell', script: { path: 'a.sh', content: script } },
        config,
      );
      asRunbox(NOT_ROOT, dockerGid());
      const result = await executor.run({ jobId: `one-side-${outputs[0]}`, attempt: 1, spec });
      asRunbox(0, 0);
      expect(result.error, JSON.stringify(result.error)).toBeNull();
      expect(result.outputs.map((o) => o.path)).toEqual(outputs);
      expect(readdirSync(join(config.dataDir, 'scratch'))).toEqual([]);
    },
  );

  it('sweeps every folder it can at start, past one it cannot, and says how many stayed', async () => {
    const scratch = join(config.dataDir, 'scratch');
    const stuck = join(scratch, 'aaaa-1-aaaaaaaa');
    mkdirSync(join(stuck, 'work', 'job-made'), { recursive: true });
    writeFileSync(join(stuck, 'work', 'job-made', 'f'), 'x');
    execFileSync('chown', ['-R', `${NOT_ROOT}:${NOT_ROOT}`, stuck]);
    execFileSync('chown', ['-R', '65534:65534', join(stuck, 'work', 'job-made')]);
    mkdirSync(join(scratch, 'zzzz-1-zzzzzzzz', 'outputs'), { recursive: true });
    execFileSync('chown', ['-R', `${NOT_ROOT}:${NOT_ROOT}`, join(scratch, 'zzzz-1-zzzzzzzz')]);
    asRunbox(NOT_ROOT, dockerGid());
    const swept = executor.sweepScratch(async () => () => false);
    await expect(swept).rejects.toThrow(
      /1 scratch folder\(s\) could not be removed \(1 were\), first aaaa-1-aaaaaaaa/,
    );
    asRunbox(0, 0);
    expect(readdirSync(scratch)).toEqual(['aaaa-1-aaaaaaaa']);
    rmSync(stuck, { recursive: true, force: true });
  });
});
