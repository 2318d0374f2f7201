import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.js';
import { checkResult } from '../../src/contract/validateResult.js';
import { createDockerExecutor, type DockerExecutor } from '../../src/executor/index.js';
import { parseJobSpec } from '../../src/spec/parseJobSpec.js';
import { createFileBlobStore, type BlobStore } from '../../src/storage/index.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_IDENTITY, TEST_INSTANCE, testConfig } from '../helpers/testConfig.js';

/**
 * End to end through a real container: a job's hostile outputs are read from the host
 * folder runbox bind-mounted at /outputs, without asking the engine for its archive,
 * and come out as the archive would give them (test/integration/
 * collectOutputs.hostDir.test.ts compares the two sources entry by entry).
 */

const JOB = [
  'cd "$RUNBOX_OUTPUTS"',
  'printf "data\\n" > "plain file é.txt"',
  "printf 'bad\\n' > \"$(printf 'bad-\\377')\"",
  'mkdir -p a/inner && printf "in a\\n" > a/b && printf "a.txt\\n" > a.txt',
  'head -c 2097152 /dev/zero > big.bin',
  'ln -s /etc/passwd passwd',
  'ln -s a "dir link"',
  'printf "first\\n" > first.txt && ln first.txt second.txt',
  'mkfifo fifo',
].join('\n');

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('DockerExecutor collects outputs from the host folder', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let store: BlobStore;
  let executor: DockerExecutor;

  beforeAll(async () => {
    ({ config, cleanup } = testConfig({ defaults: { pullPolicy: 'never' } }));
    store = await createFileBlobStore(config);
    executor = createDockerExecutor({ config, store, identity: TEST_IDENTITY });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await expectNoLeftoverContainers(TEST_INSTANCE);
  });
  afterAll(() => cleanup?.());

  it('stores hostile outputs without the engine archive, links unfollowed', async () => {
    const getArchive = vi.spyOn(Docker.Container.prototype, 'getArchive');
    const result = await executor.run({
      jobId: 'hostout-1',
      attempt: 1,
      spec: parseJobSpec(
        { runtime: 'shell', script: { path: 'job.sh', content: JOB }, timeout_seconds: 60 },
        config,
      ),
    });
    expect(checkResult(result)).toEqual([]);
    expect(result.error).toBeNull();
    expect(getArchive).not.toHaveBeenCalled();
    expect(result.outputs.map((o) => [o.path, o.type, o.size, o.sha256, o.link_target])).toEqual([
      ['a/b', 'file', 5, sha('in a\n'), null],
      ['a.txt', 'file', 6, sha('a.txt\n'), null],
      ['bad-\uFFFD', 'file', 4, sha('bad\n'), null],
      ['big.bin', 'file', 2097152, sha(Buffer.alloc(2097152)), null],
      ['dir link', 'symlink', 0, null, 'a'],
      ['first.txt', 'file', 6, sha('first\n'), null],
      ['passwd', 'symlink', 0, null, '/etc/passwd'],
      ['plain file é.txt', 'file', 5, sha('data\n'), null],
      ['second.txt', 'file', 6, sha('first\n'), null],
    ]);
    expect(result.skipped_outputs).toEqual([{ path: 'fifo', reason: 'named pipe' }]);
    for (const o of result.outputs.filter((x) => x.type === 'file')) {
      expect(await store.stat(o.sha256!)).toMatchObject({ size: o.size });
    }
  });
});
