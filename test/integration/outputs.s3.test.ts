import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutputEntry } from '../../src/contract/resultSchema.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  freshBucket,
  listKeys,
  startBucketPair,
  testS3,
  testS3Client,
} from '../helpers/s3Server.js';
import type { RunboxProcess } from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  getJob,
  http,
  pythonJob,
  runbox,
  sha256,
  shellJob,
  submit,
  waitFinal,
  zstdDecode,
} from './outputsKit.js';

/**
 * Issue 15, blobs on S3, driven from outside: `runbox serve --blobs s3://...` runs a job,
 * its outputs and logs land in the bucket, and a second server on the same database with
 * an empty data dir (another node) serves them, ranges included, from the bucket.
 */

// Hostile names and contents: non-ASCII, empty, binary over three 1 MiB frames.
const WRITER = `
import os, random, sys
root = os.environ["RUNBOX_OUTPUTS"]
r = random.Random(15)
with open(os.path.join(root, "données ☃.bin"), "wb") as f:
    for i in range(40):
        f.write(r.randbytes(65536) if i % 2 == 0 else (b"line %06d of repetitive text\\n" % i) * 2200)
open(os.path.join(root, "empty"), "wb").close()
os.makedirs(os.path.join(root, "日本"))
with open(os.path.join(root, "日本", "small.txt"), "w") as f:
    f.write("petit fichier\\n")
with open(os.path.join(root, "nul+ff.bin"), "wb") as f:
    f.write(bytes(range(256)) * 3)
print("stdout line ✓")
print("stderr line", file=sys.stderr)
`;

describe('outputs on S3-compatible storage, through runbox serve --blobs s3://', () => {
  let client: S3Client;
  let bucket: string;
  let removeBucket: () => Promise<void>;
  const dirs: string[] = [];
  let nodeA: RunboxProcess;
  let nodeB: RunboxProcess;
  let jobId: string;
  let outputs: OutputEntry[];

  beforeAll(async () => {
    client = testS3Client();
    ({ bucket, remove: removeBucket } = await freshBucket(client));
    ({ nodeA, nodeB } = await startBucketPair(testS3().endpoint, bucket, 'node-test', dirs));
    jobId = await submit(nodeA.url, pythonJob(WRITER));
    const job = await waitFinal(nodeA.url, jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    outputs = job.result!.outputs;
  });

  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));

  afterAll(async () => {
    for (const node of [nodeA, nodeB]) {
      if (!node) continue;
      node.kill('SIGTERM');
      await node.exited;
    }
    await removeBucket?.();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('stores every output and log under <prefix>/blobs/<sha256> in the bucket', async () => {
    const files = outputs.filter((o) => o.type === 'file');
    expect(files.map((o) => o.path).sort()).toEqual(
      ['données ☃.bin', 'empty', 'nul+ff.bin', '日本/small.txt'].sort(),
    );
    const keys = await listKeys(client, bucket);
    for (const file of files) expect(keys).toContain(`node-test/blobs/${file.sha256}`);
    const job = await waitFinal(nodeA.url, jobId);
    expect(keys).toContain(`node-test/blobs/${job.result!.stdout.blob}`);
    // Nothing else is left in the bucket: no probe keys, no partial uploads.
    expect(keys.every((k) => /^node-test\/blobs\/[0-9a-f]{64}$/.test(k))).toBe(true);
    const big = files.find((o) => o.path === 'données ☃.bin')!;
    const head = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `node-test/blobs/${big.sha256}` }),
    );
    expect(head.Metadata).toMatchObject({ 'runbox-size': String(big.size), 'runbox-frames': '3' });
  });

  it('another node serves each output whole, identical, from the bucket', async () => {
    for (const file of outputs.filter((o) => o.type === 'file')) {
      const url = `${nodeB.url}/v1/jobs/${jobId}/outputs/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      const plain = await http(url, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.status, file.path).toBe(200);
      expect(plain.body.length).toBe(file.size);
      expect(sha256(plain.body)).toBe(file.sha256);
      const zstd = await http(url, { headers: { 'accept-encoding': 'zstd' } });
      expect(zstd.headers['content-encoding']).toBe('zstd');
      expect(zstd.body.length).toBe(file.compressed_size);
      expect(sha256(await zstdDecode(zstd.body))).toBe(file.sha256);
    }
  });

  it.each([
    ['inside a frame', 1000, 1999],
    ['across a frame boundary', 1024 * 1024 - 700, 1024 * 1024 + 700],
    ['to the end', 2 * 1024 * 1024 + 5, null],
  ])('another node answers a Range request %s with exactly those bytes', async (_, start, end) => {
    const big = outputs.find((o) => o.path === 'données ☃.bin')!;
    const whole = await http(
      `${nodeA.url}/v1/jobs/${jobId}/outputs/${encodeURIComponent(big.path)}`,
    );
    const last = end ?? big.size - 1;
    const answer = await http(
      `${nodeB.url}/v1/jobs/${jobId}/outputs/${encodeURIComponent(big.path)}`,
      { headers: { range: `bytes=${start}-${end ?? ''}` } },
    );
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe(`bytes ${start}-${last}/${big.size}`);
    expect(answer.body.equals(whole.body.subarray(start, last + 1))).toBe(true);
  });

  it('another node serves the logs, and runbox outputs -o downloads and verifies every file', async () => {
    const logs = await http(`${nodeB.url}/v1/jobs/${jobId}/logs?stream=stdout`);
    expect(logs.status).toBe(200);
    expect(logs.body.toString()).toContain('stdout line ✓');
    const out = mkdtempSync(join(tmpdir(), 'runbox-s3-dl-'));
    dirs.push(out);
    const result = await runbox(nodeB.url, ['outputs', jobId, '-o', out]);
    expect(result.code, result.stderr).toBe(0);
    for (const file of outputs.filter((o) => o.type === 'file')) {
      expect(sha256(readFileSync(join(out, file.path)))).toBe(file.sha256);
    }
  });

  // Seen on a fleet: every job cancelled while it ran ended with its log gone (blob null,
  // error "storing blob ...: stopped waiting for the blob store"), since the cancel that
  // killed its container also aborted, before they began, the uploads of what it wrote.
  it('a job cancelled (through the other node) while it runs keeps its log and outputs so far in the bucket', async () => {
    const id = await submit(
      nodeA.url,
      shellJob(
        'echo "before the cancel ✓"; echo partial > "$RUNBOX_OUTPUTS/partial.txt"; ' +
          'echo "on stderr" >&2; exec sleep 60',
      ),
    );
    const started = Date.now();
    for (;;) {
      const job = await getJob(nodeA.url, id);
      const log = await http(`${nodeA.url}/v1/jobs/${id}/logs`);
      if (job.status === 'running' && log.body.toString().includes('before the cancel')) break;
      if (Date.now() - started > 60_000) throw new Error(`job ${id} never ran: ${job.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const cancel = await http(`${nodeB.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBeLessThan(300);
    const job = await waitFinal(nodeB.url, id, 30_000);
    expect(job.status).toBe('cancelled');
    expect(job.error?.type).toBe('Cancelled');
    expect(job.error?.message).not.toContain('blob store');
    expect(job.result?.stdout.blob).toMatch(/^[0-9a-f]{64}$/);
    const stdout = await http(`${nodeB.url}/v1/jobs/${id}/logs`);
    expect(stdout.body.toString()).toBe('before the cancel ✓\n');
    const stderr = await http(`${nodeB.url}/v1/jobs/${id}/logs?stream=stderr`);
    expect(stderr.body.toString()).toBe('on stderr\n');
    expect(job.result?.outputs.map((o) => o.path)).toEqual(['partial.txt']);
    const output = await http(`${nodeB.url}/v1/jobs/${id}/outputs/partial.txt`);
    expect(output.body.toString()).toBe('partial\n');
  }, 90_000);
});
