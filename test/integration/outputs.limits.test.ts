import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import type { OutputEntry, SkippedOutput } from '../../src/contract/resultSchema.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  http,
  pythonJob,
  runbox,
  startOutputsServer,
  submit,
  waitFinal,
  zstdDecode,
  type OutputsServer,
} from './outputsKit.js';

/**
 * Issue 4: "a job whose outputs include a symlink to /etc/passwd, a FIFO, and 20,000
 * small files over a 10,000 limit: stored as described, OutputLimitExceeded, host file
 * never read". The engine's archive walks /outputs in lexical order, so the "a-" entries
 * come before files/ and are seen before the limit stops collection.
 */
const WRITER = `
import hashlib, os
root = os.environ["RUNBOX_OUTPUTS"]
os.symlink("/etc/passwd", os.path.join(root, "a-passwd-link"))
os.mkfifo(os.path.join(root, "a-pipe"))
files = os.path.join(root, "files")
for d in range(20):
    os.makedirs(os.path.join(files, "d%02d" % d))
    for i in range(1000):
        with open(os.path.join(files, "d%02d" % d, "f%04d.txt" % i), "w") as f:
            f.write("file %d/%d\\n" % (d, i))
print("container passwd sha256", hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest())
`;

const fileSha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every blob in the server's store, asked through the store (small ones are in packs). */
async function storedBlobNames(dataDir: string): Promise<Set<string>> {
  const store = await createFileBlobStore(
    { dataDir, zstd: { codec: 'auto', level: 3, frameBytes: 1024 * 1024 } },
    { packSmallBlobs: true },
  );
  const names = new Set<string>();
  for await (const entry of store.list()) names.add(entry.sha256);
  return names;
}

describe('outputs over the file limit, with a symlink and a FIFO', () => {
  let rb: OutputsServer;
  let job: JobView;
  let outputs: OutputEntry[];
  let skipped: SkippedOutput[];
  let collectSeconds = 0;

  beforeAll(async () => {
    rb = await startOutputsServer('outputs-limits', { limits: { outputFiles: 10_000 } });
    const id = await submit(rb.url, pythonJob(WRITER, { timeout_seconds: 120 }));
    job = await waitFinal(rb.url, id, 240_000);
    outputs = job.result?.outputs ?? [];
    skipped = job.result?.skipped_outputs ?? [];
    collectSeconds = job.result?.metrics.stage_times.outputs ?? 0;
    console.log(
      `20,000 files over a 10,000 limit: ${outputs.length} stored in ${collectSeconds.toFixed(1)} s ` +
        `(stage_times.outputs), run ${job.result?.metrics.stage_times.run.toFixed(1)} s`,
    );
  }, 300_000);

  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));
  afterAll(async () => rb?.stop());

  it('fails with OutputLimitExceeded naming the limit, and does not retry', () => {
    expect(job.status).toBe('failed');
    expect(job.error?.type).toBe('OutputLimitExceeded');
    expect(job.error?.message).toMatch(/more than 10000 output files \(limits\.output_files\)/);
    expect(job.error?.field).toBe('limits.output_files');
    expect(job.attempts).toBe(1);
    expect(job.result?.exit_code).toBe(0);
  });

  it('keeps the manifest of what was stored: the symlink and 9,999 files, each with its blob', async () => {
    expect(outputs).toHaveLength(10_000);
    expect(outputs.filter((o) => o.type === 'file')).toHaveLength(9_999);
    const answer = await http(`${rb.url}/v1/jobs/${job.id}/outputs`);
    const manifest = JSON.parse(answer.body.toString()) as { outputs: OutputEntry[] };
    expect(manifest.outputs).toEqual(outputs);
    const blobs = await storedBlobNames(rb.dataDir);
    for (const o of outputs) if (o.sha256) expect(blobs.has(o.sha256), o.path).toBe(true);
    const one = outputs.find((o) => o.path === 'files/d03/f0042.txt')!;
    const body = await http(`${rb.url}/v1/jobs/${job.id}/outputs/files/d03/f0042.txt`);
    expect(body.body.toString()).toBe('file 3/42\n');
    expect(one.size).toBe(10);
  });

  it('records the symlink by its target text only: no size, no sha256, no blob', () => {
    const link = outputs.find((o) => o.path === 'a-passwd-link');
    expect(link).toEqual({
      path: 'a-passwd-link',
      type: 'symlink',
      size: 0,
      sha256: null,
      compressed_size: null,
      link_target: '/etc/passwd',
    });
  });

  it("never reads the host's /etc/passwd through the link: no blob has its sha256", async () => {
    const blobs = await storedBlobNames(rb.dataDir);
    expect(blobs.size).toBeGreaterThan(9_000);
    expect(blobs.has(fileSha('/etc/passwd'))).toBe(false);
  });

  it("neither is the container's /etc/passwd stored (its sha256 from the job's stdout)", async () => {
    const stdout = await http(`${rb.url}/v1/jobs/${job.id}/logs`);
    const match = /container passwd sha256 ([0-9a-f]{64})/.exec(stdout.body.toString());
    expect(match, stdout.body.toString()).not.toBeNull();
    expect((await storedBlobNames(rb.dataDir)).has(match![1]!)).toBe(false);
  });

  it('lists the FIFO as skipped with its reason, and never as an output', () => {
    expect(skipped).toContainEqual({ path: 'a-pipe', reason: 'named pipe' });
    expect(outputs.some((o) => o.path === 'a-pipe')).toBe(false);
  });

  it('the FIFO is served as a 404 that says it was skipped and why', async () => {
    const answer = await http(`${rb.url}/v1/jobs/${job.id}/outputs/a-pipe`);
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toContain(
      `job ${job.id}'s \\"a-pipe\\" was skipped when its outputs were collected (named pipe)`,
    );
  });

  it('runbox outputs --file of the FIFO says it was skipped and why, exit 66', async () => {
    const cli = await runbox(rb.url, ['outputs', job.id, '--file', 'a-pipe']);
    expect(cli.code).toBe(66);
    expect(cli.stderr).toContain(
      `"a-pipe" was skipped when its outputs were collected (named pipe)`,
    );
  });

  it('the symlink is served as a 404 that says it is a link, never the file it names', async () => {
    const answer = await http(`${rb.url}/v1/jobs/${job.id}/outputs/a-passwd-link`);
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toMatch(/is a symlink to \\?"\/etc\/passwd\\?"/);
    expect(answer.body.toString()).not.toMatch(/root:/);
  });

  it('outputs.tar.zst carries the link as a link and every stored file', async () => {
    const answer = await http(`${rb.url}/v1/jobs/${job.id}/outputs.tar.zst`);
    expect(answer.status).toBe(200);
    const listing = spawnSync('tar', ['-tv'], { input: await zstdDecode(answer.body) });
    expect(listing.status).toBe(0);
    const lines = listing.stdout.toString().trim().split('\n');
    expect(lines).toHaveLength(10_000);
    expect(lines[0]).toMatch(/^l.* a-passwd-link -> \/etc\/passwd$/);
  });
});
