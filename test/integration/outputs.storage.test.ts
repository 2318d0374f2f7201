import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { expectNoLeftoverContainers, labelledContainers } from '../helpers/leftovers.js';
import { runCliProcess } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  http,
  pythonJob,
  runbox,
  shellJob,
  startOutputsServer,
  submit,
  waitFinal,
  type OutputsServer,
} from './outputsKit.js';

/** Issue 4: retention with `runbox gc`, and the free-space guard. */

/** Stored size of every blob in the server's store, asked through the store (small ones are in packs). */
async function storedBlobs(dataDir: string): Promise<Map<string, number>> {
  const store = await createFileBlobStore(
    { dataDir, zstd: { codec: 'auto', level: 3, frameBytes: 1024 * 1024 } },
    { packSmallBlobs: true },
  );
  const sizes = new Map<string, number>();
  for await (const entry of store.list()) sizes.set(entry.sha256, entry.compressedSize);
  return sizes;
}

/** Every blob a finished job refers to: its outputs and its two logs. */
function blobsOf(job: JobView): Set<string> {
  const result = job.result!;
  return new Set(
    [...result.outputs.map((o) => o.sha256), result.stdout.blob, result.stderr.blob].filter(
      (sha): sha is string => sha !== null,
    ),
  );
}

const writer = (name: string) => `
import os
root = os.environ["RUNBOX_OUTPUTS"]
with open(os.path.join(root, "shared.txt"), "w") as f:
    f.write("the same bytes in both jobs\\n" * 100)
with open(os.path.join(root, "${name}-only.bin"), "wb") as f:
    f.write(os.urandom(200 * 1024))
print("job ${name}")
`;

describe('runbox gc', () => {
  // The recent job must still be inside retention when the second `runbox gc` sweeps:
  // between its end and that sweep come this test's poll, a walk of the store and two CLI
  // runs. 3 s was too little: `runbox gc` on an empty data dir took 1.2-2.4 s on a busy
  // 2-core machine, 3.5-6.5 s with two more CPU hogs, and the second gc then deleted it.
  const RETENTION_MS = 20_000;
  let rb: OutputsServer;

  beforeAll(async () => {
    // blobGraceMs 0: without it gc keeps every blob younger than 2 x the default timeout
    // + 10 minutes (a job stores blobs before it records them), i.e. all of this test's.
    rb = await startOutputsServer('outputs-gc', {
      jobRetentionMs: RETENTION_MS,
      blobGraceMs: 0,
      // The server's own sweep must not run during the test: only `runbox gc` does.
      sweepIntervalMs: 3_600_000,
    });
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => rb?.stop());

  it('removes the blobs of a job past retention, keeps one another job still uses, reports the bytes', async () => {
    const old = await waitFinal(rb.url, await submit(rb.url, pythonJob(writer('a'))));
    expect(old.status).toBe('succeeded');
    const oldFinished = Date.parse(old.finished_at!);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, oldFinished + RETENTION_MS + 200 - Date.now())),
    );
    const recent = await waitFinal(rb.url, await submit(rb.url, pythonJob(writer('b'))));
    expect(recent.status).toBe('succeeded');

    const shared = old.result!.outputs.find((o) => o.path === 'shared.txt')!.sha256!;
    expect(recent.result!.outputs.find((o) => o.path === 'shared.txt')!.sha256).toBe(shared);
    const onlyOld = [...blobsOf(old)].filter((sha) => !blobsOf(recent).has(sha));
    expect(onlyOld.length).toBeGreaterThanOrEqual(2); // a-only.bin and its stdout at least
    const before = await storedBlobs(rb.dataDir);
    const freedExpected = onlyOld.reduce((sum, sha) => sum + before.get(sha)!, 0);

    const configFile = join(rb.dataDir, 'config.json');
    const gc = await runCliProcess(
      ['gc', '--json', '--config', configFile, '--data-dir', rb.dataDir],
      { env: { RUNBOX_CONFIG: '' } },
    );
    expect(gc.code, gc.stderr).toBe(0);
    const report = JSON.parse(gc.stdout) as Record<string, number>;
    expect(Date.now() - Date.parse(recent.finished_at!)).toBeLessThan(RETENTION_MS); // still kept
    expect(report).toMatchObject({
      deletedJobs: 1,
      removedBlobs: onlyOld.length,
      freedBytes: freedExpected,
    });

    const after = await storedBlobs(rb.dataDir);
    for (const sha of onlyOld) expect(after.has(sha), sha).toBe(false);
    for (const sha of blobsOf(recent)) expect(after.has(sha), sha).toBe(true);
    expect((await http(`${rb.url}/v1/jobs/${old.id}`)).status).toBe(404);
    const kept = await http(`${rb.url}/v1/jobs/${recent.id}/outputs/shared.txt`);
    expect(kept.status).toBe(200);
    expect(kept.body.toString()).toBe('the same bytes in both jobs\n'.repeat(100));

    // In words, too.
    const again = await runCliProcess(['gc', '--config', configFile, '--data-dir', rb.dataDir], {
      env: { RUNBOX_CONFIG: '' },
    });
    expect(again.stdout).toMatch(/deleted 0 job\(s\) .* removed 0 blob\(s\), freed 0 bytes/);
  });
});

describe('the free-space guard', () => {
  let rb: OutputsServer;

  beforeAll(async () => {
    rb = await startOutputsServer('outputs-full', { limits: { minFreeBytes: 2 ** 53 } });
  });
  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => rb?.stop());

  it('refuses a new job with 507 InsufficientStorage and writes nothing', async () => {
    const answer = await http(`${rb.url}/v1/jobs`, {
      method: 'POST',
      body: shellJob('echo hi > "$RUNBOX_OUTPUTS/x"'),
    });
    expect(answer.status).toBe(507);
    const body = JSON.parse(answer.body.toString()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('InsufficientStorage');
    expect(body.error.message).toMatch(/free/);

    const batch = await http(`${rb.url}/v1/jobs/batch`, {
      method: 'POST',
      body: { jobs: [shellJob('true'), shellJob('true')] },
    });
    expect(batch.status).toBe(507);

    const list = JSON.parse((await http(`${rb.url}/v1/jobs`)).body.toString()) as {
      jobs: unknown[];
    };
    expect(list.jobs).toEqual([]);
    expect(await labelledContainers(TEST_INSTANCE)).toEqual([]);
    const scratch = join(rb.dataDir, 'scratch');
    expect(existsSync(scratch) ? readdirSync(scratch) : []).toEqual([]);
  });

  it('runbox submit exits with the InsufficientStorage code (74) and says why', async () => {
    const script = join(rb.dataDir, 'job.sh');
    writeFileSync(script, 'echo hi\n');
    const run = await runbox(rb.url, ['submit', script]);
    expect(run.code).toBe(74);
    expect(run.stderr).toMatch(/InsufficientStorage|free/);
  });
});
