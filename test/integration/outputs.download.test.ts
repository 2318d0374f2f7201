import { spawnSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutputEntry } from '../../src/contract/resultSchema.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  http,
  pythonJob,
  runbox,
  sha256,
  shellJob,
  startOutputsServer,
  submit,
  waitFinal,
  zstdDecode,
  type OutputsServer,
} from './outputsKit.js';

/**
 * Issue 4, "download with and without zstd encoding, a resumed Range download, and a
 * traversal attempt rejected", against a real `runbox serve` and a real job.
 */

// About 2.6 MiB, random and repetitive stretches in turn: three frames, the last partial.
const WRITER = `
import os, random
root = os.environ["RUNBOX_OUTPUTS"]
r = random.Random(4)
with open(os.path.join(root, "data.bin"), "wb") as f:
    for i in range(40):
        f.write(r.randbytes(65536) if i % 2 == 0 else (b"line %06d of repetitive text\\n" % i) * 2200)
os.makedirs(os.path.join(root, "dir"))
with open(os.path.join(root, "dir", "small.txt"), "w") as f:
    f.write("small file\\n")
`;

describe('downloading outputs', () => {
  let rb: OutputsServer;
  let jobId: string;
  let data: OutputEntry;
  let identity: Buffer;
  const temp: string[] = [];
  const fileUrl = (path: string) => `${rb.url}/v1/jobs/${jobId}/outputs/${path}`;

  beforeAll(async () => {
    rb = await startOutputsServer('outputs-dl');
    jobId = await submit(rb.url, pythonJob(WRITER));
    const job = await waitFinal(rb.url, jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    data = job.result!.outputs.find((o) => o.path === 'data.bin')!;
    const answer = await http(fileUrl('data.bin'));
    identity = answer.body;
  });

  afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));

  afterAll(async () => {
    await rb?.stop();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('lists each output with size, sha256 and a smaller compressed size', async () => {
    const answer = await http(`${rb.url}/v1/jobs/${jobId}/outputs`);
    expect(answer.status).toBe(200);
    const manifest = JSON.parse(answer.body.toString()) as { outputs: OutputEntry[] };
    expect(manifest.outputs.map((o) => o.path).sort()).toEqual(['data.bin', 'dir/small.txt']);
    expect(data.size).toBeGreaterThan(2 * 1024 * 1024);
    expect(data.compressed_size!).toBeLessThan(data.size * 0.75);
  });

  it('without zstd in Accept-Encoding: the decompressed bytes, whose sha256 is the ETag', async () => {
    const answer = await http(fileUrl('data.bin'), { headers: { 'accept-encoding': 'gzip' } });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers['content-length']).toBe(String(data.size));
    expect(answer.headers.etag).toBe(`"${data.sha256}"`);
    expect(answer.headers['accept-ranges']).toBe('bytes');
    expect(sha256(answer.body)).toBe(data.sha256);
    expect(sha256(identity)).toBe(data.sha256);
  });

  it('with zstd accepted: the stored frames as they are, which the zstd CLI decodes to the file', async () => {
    const answer = await http(fileUrl('data.bin'), {
      headers: { 'accept-encoding': 'gzip, zstd' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe('zstd');
    expect(answer.headers['content-length']).toBe(String(data.compressed_size));
    expect(answer.body.length).toBe(data.compressed_size);
    expect(sha256(await zstdDecode(answer.body))).toBe(data.sha256);
  });

  // Both answers carried the decompressed bytes' ETag: a client holding part of the zstd
  // answer that resumed it with If-Range got decompressed bytes (206) to append.
  it('the zstd answer has an ETag of its own, which no range of the decompressed bytes matches', async () => {
    const zstd = { 'accept-encoding': 'zstd' };
    const whole = await http(fileUrl('data.bin'), { headers: zstd });
    expect(whole.headers['content-encoding']).toBe('zstd');
    const tag = whole.headers.etag as string;
    expect(tag).not.toBe(`"${data.sha256}"`);
    expect(tag).toMatch(/^"[^"]+"$/); // strong
    const resumed = await http(fileUrl('data.bin'), {
      headers: { ...zstd, range: `bytes=${whole.body.length >> 1}-`, 'if-range': tag },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.equals(whole.body)).toBe(true);
    expect(
      (await http(fileUrl('data.bin'), { headers: { ...zstd, 'if-none-match': tag } })).status,
    ).toBe(304);
    const identityTag = `"${data.sha256}"`;
    expect(
      (await http(fileUrl('data.bin'), { headers: { ...zstd, 'if-none-match': identityTag } }))
        .status,
    ).toBe(200);
    expect(
      (await http(fileUrl('data.bin'), { headers: { 'if-none-match': identityTag } })).status,
    ).toBe(304);
    const ranged = await http(fileUrl('data.bin'), {
      headers: { ...zstd, range: 'bytes=10-19', 'if-range': identityTag },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.etag).toBe(identityTag);
    expect(ranged.body.equals(identity.subarray(10, 20))).toBe(true);
  });

  it('zstd;q=0 means not zstd: identity', async () => {
    const answer = await http(fileUrl('data.bin'), { headers: { 'accept-encoding': 'zstd;q=0' } });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(sha256(answer.body)).toBe(data.sha256);
  });

  it.each([
    ['inside the first frame', 1000, 1999],
    ['across a frame boundary', 1024 * 1024 - 700, 1024 * 1024 + 700],
    ['to the end', 2 * 1024 * 1024 + 5, null],
  ])(
    'a Range request %s answers 206 with its Content-Range and exactly those bytes',
    async (_, start, end) => {
      const last = end ?? data.size - 1;
      const answer = await http(fileUrl('data.bin'), {
        headers: { range: `bytes=${start}-${end ?? ''}`, 'accept-encoding': 'zstd' },
      });
      expect(answer.status).toBe(206);
      expect(answer.headers['content-range']).toBe(`bytes ${start}-${last}/${data.size}`);
      expect(answer.headers['content-encoding']).toBeUndefined(); // ranges are on identity
      expect(answer.body.equals(identity.subarray(start, last + 1))).toBe(true);
    },
  );

  it('a suffix range gives the last N bytes', async () => {
    const answer = await http(fileUrl('data.bin'), { headers: { range: 'bytes=-100' } });
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe(
      `bytes ${data.size - 100}-${data.size - 1}/${data.size}`,
    );
    expect(answer.body.equals(identity.subarray(data.size - 100))).toBe(true);
  });

  it('a suffix range longer than the file gives the whole file as 206, as RFC 9110 says', async () => {
    const answer = await http(fileUrl('data.bin'), {
      headers: { range: `bytes=-${data.size + 1000}` },
    });
    expect(answer.status, answer.body.toString().slice(0, 200)).toBe(206);
    expect(answer.headers['content-range']).toBe(`bytes 0-${data.size - 1}/${data.size}`);
    expect(answer.body.equals(identity)).toBe(true);
  });

  it('If-Range naming another ETag: the Range is ignored and the whole file comes back (200)', async () => {
    const stale = await http(fileUrl('data.bin'), {
      headers: { range: 'bytes=0-9', 'if-range': '"0000"' },
    });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(identity)).toBe(true);
    const current = await http(fileUrl('data.bin'), {
      headers: { range: 'bytes=0-9', 'if-range': `"${data.sha256}"` },
    });
    expect(current.status).toBe(206);
    expect(current.body.equals(identity.subarray(0, 10))).toBe(true);
    // A date is never a strong validator here: no Last-Modified is sent.
    const dated = await http(fileUrl('data.bin'), {
      headers: { range: 'bytes=0-9', 'if-range': new Date().toUTCString() },
    });
    expect(dated.status).toBe(200);
  });

  it.each(['bytes=x-', 'bytes=5-2', 'bytes=-0', 'bytes=0-1,5-6'])(
    'an unsatisfiable or malformed range (%s) answers 416 with the size',
    async (range) => {
      const answer = await http(fileUrl('data.bin'), { headers: { range } });
      expect(answer.status, answer.body.toString()).toBe(416);
      expect(answer.headers['content-range']).toBe(`bytes */${data.size}`);
    },
  );

  it('a range starting at or past the end answers 416', async () => {
    for (const start of [data.size, data.size + 10]) {
      const answer = await http(fileUrl('data.bin'), { headers: { range: `bytes=${start}-` } });
      expect(answer.status, answer.body.toString()).toBe(416);
    }
  });

  it('If-None-Match with the ETag answers 304 with no body', async () => {
    const answer = await http(fileUrl('data.bin'), {
      headers: { 'if-none-match': `"${data.sha256}"` },
    });
    expect(answer.status).toBe(304);
    expect(answer.body.length).toBe(0);
    const other = await http(fileUrl('data.bin'), { headers: { 'if-none-match': '"abc"' } });
    expect(other.status).toBe(200);
  });

  it.each([
    ['../', '../../../../etc/passwd'],
    ['../ inside', 'dir/../data.bin'],
    ['%2e%2e/', '%2e%2e/%2e%2e/%2e%2e/etc/passwd'],
    ['..%2f', '..%2f..%2f..%2fetc%2fpasswd'],
    ['absolute', '/etc/passwd'],
    ['absolute, encoded', '%2fetc%2fpasswd'],
    ['double-encoded %252e', '%252e%252e%252f%252e%252e%252fetc%252fpasswd'],
    ['backslash', '..\\..\\..\\etc\\passwd'],
    ['backslash, encoded', '..%5c..%5c..%5cetc%5cpasswd'],
    ['NUL', 'data.bin%00.txt'],
    ['dot segment', './data.bin'],
  ])('a traversal attempt (%s) is refused with 400 naming the path', async (_, path) => {
    const answer = await http(fileUrl(path), { headers: { 'accept-encoding': 'zstd' } });
    expect(answer.status, answer.body.toString()).toBe(400);
    const body = JSON.parse(answer.body.toString()) as { error: { type: string; field: string } };
    expect(body.error).toMatchObject({ type: 'InvalidSpec', field: 'path' });
    expect(answer.body.toString()).not.toMatch(/root:/);
  });

  it('a path not in the manifest is 404, and so is a folder', async () => {
    expect((await http(fileUrl('nope.bin'))).status).toBe(404);
    expect((await http(fileUrl('dir'))).status).toBe(404);
  });

  it('files whose names look encoded (100%25, a%2fb, %2e%2e, a\\b) download by their manifest name, one by one and with outputs -o', async () => {
    // Legal Linux names a job may write; the traversal checks above must not refuse
    // them once they are what the manifest lists.
    const names = ['100%25 done.txt', 'a%2fb', '%2e%2e', 'back\\slash', 'nul%00'];
    const script = names
      .map((n, i) => `printf 'file ${i}' > "$RUNBOX_OUTPUTS/${n.replace(/\\/g, '\\\\')}"`)
      .join('\n');
    const id = await submit(rb.url, shellJob(script));
    const job = await waitFinal(rb.url, id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result!.outputs.map((o) => o.path).sort()).toEqual([...names].sort());
    for (const [i, name] of names.entries()) {
      const url = `${rb.url}/v1/jobs/${id}/outputs/${encodeURIComponent(name)}`;
      const answer = await http(url);
      expect(answer.status, `${name}: ${answer.body.toString()}`).toBe(200);
      expect(answer.body.toString()).toBe(`file ${i}`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'runbox-dl-names-'));
    temp.push(dir);
    const run = await runbox(rb.url, ['outputs', id, '-o', dir]);
    expect(run.code, run.stderr).toBe(0);
    for (const [i, name] of names.entries())
      expect(readFileSync(join(dir, name), 'utf8')).toBe(`file ${i}`);
  });

  it('an empty output downloads as 0 bytes; any range of it is 416 saying it is empty', async () => {
    const id = await submit(rb.url, shellJob(': > "$RUNBOX_OUTPUTS/empty"'));
    expect((await waitFinal(rb.url, id)).status).toBe('succeeded');
    const url = `${rb.url}/v1/jobs/${id}/outputs/empty`;
    const whole = await http(url);
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(0);
    for (const range of ['bytes=0-0', 'bytes=-1', 'bytes=0-']) {
      const answer = await http(url, { headers: { range } });
      expect(answer.status, range).toBe(416);
      expect(answer.headers['content-range']).toBe('bytes */0');
      // Before: "range bytes=0-0 is not one range inside 0--1".
      const body = JSON.parse(answer.body.toString()) as { error: { message: string } };
      expect(body.error.message).toBe(
        `range "${range}" cannot be satisfied: the file is empty; ask without Range`,
      );
    }
  });

  it('runbox outputs -o resumes a partial file with a Range request and verifies it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-dl-'));
    temp.push(dir);
    const half = Math.floor(data.size / 2) + 3;
    writeFileSync(join(dir, 'data.bin'), identity.subarray(0, half));
    const run = await runbox(rb.url, ['outputs', jobId, '-o', dir]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/data\.bin\s+\d+ bytes\s+sha256 ok/);
    expect(run.stdout).toMatch(/dir\/small\.txt\s+11 bytes\s+sha256 ok/);
    expect(sha256(readFileSync(join(dir, 'data.bin')))).toBe(data.sha256);
  });

  it('the resume really appends: a partial file with wrong leading bytes fails verification, exit 79 (ChecksumMismatch)', async () => {
    // Had the client downloaded the whole file again, the wrong bytes would be gone.
    const dir = mkdtempSync(join(tmpdir(), 'runbox-dl-'));
    temp.push(dir);
    writeFileSync(join(dir, 'data.bin'), Buffer.alloc(4096, 0xee));
    const run = await runbox(rb.url, ['outputs', jobId, '-o', dir, '--file', 'data.bin']);
    expect(run.code).toBe(79);
    expect(run.stderr).toMatch(/ChecksumMismatch: data\.bin: sha256 does not match the manifest/);
    const kept = readFileSync(join(dir, 'data.bin'));
    expect(kept.length).toBe(data.size);
    expect(kept.subarray(4096).equals(identity.subarray(4096))).toBe(true);
  });

  it('runbox outputs -o fetches several files at once, reports them in manifest order, links last', async () => {
    // 5,000 small files took ~34 s one request after another. Between the CLI and the
    // server, a proxy that counts the requests in flight at once.
    const script = [
      'i=0; while [ $i -lt 120 ]; do d="$RUNBOX_OUTPUTS/d$((i % 5))"; mkdir -p "$d"',
      '  printf "content $i" > "$d/f $i é"; i=$((i+1)); done',
      'ln -s d1 "$RUNBOX_OUTPUTS/inside"; ln -s /etc "$RUNBOX_OUTPUTS/outside"',
    ].join('\n');
    const id = await submit(rb.url, shellJob(script));
    const job = await waitFinal(rb.url, id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const target = new URL(rb.url);
    let inFlight = 0;
    let most = 0;
    let files = 0;
    const proxy = createServer((incoming, answer) => {
      if (/\/outputs\/.+/.test(incoming.url ?? '')) files += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: incoming.url,
          method: incoming.method,
          headers: incoming.headers,
        },
        (response) => {
          answer.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(answer);
          response.on('end', () => (inFlight -= 1));
        },
      );
      incoming.pipe(upstream);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    try {
      const dir = mkdtempSync(join(tmpdir(), 'runbox-dl-many-'));
      temp.push(dir);
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await runbox(url, ['outputs', id, '-o', dir]);
      expect(run.code, run.stderr).toBe(0);
      const regular = job.result!.outputs.filter((o) => o.type === 'file');
      expect(regular).toHaveLength(120);
      expect(files).toBe(120);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(8);
      // One line per file, in the manifest's order, each verified.
      expect(run.stdout.trim().split('\n')).toEqual(
        regular.map((o) => `${o.path}  ${o.size} bytes  sha256 ok`),
      );
      for (const o of regular) {
        const i = /f (\d+) é$/.exec(o.path)![1];
        expect(readFileSync(join(dir, o.path), 'utf8')).toBe(`content ${i}`);
      }
      expect(lstatSync(join(dir, 'inside')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, 'inside'))).toBe('d1');
      expect(() => lstatSync(join(dir, 'outside'))).toThrow();
      expect(run.stderr).toContain('symlink outside -> /etc points outside the output folder');
    } finally {
      await new Promise<void>((done) => proxy.close(() => done()));
    }
  });

  it('outputs.tar.zst unpacks with zstd -d | tar -x to the same files', async () => {
    const answer = await http(`${rb.url}/v1/jobs/${jobId}/outputs.tar.zst`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/application\/zstd/);
    const dir = mkdtempSync(join(tmpdir(), 'runbox-dl-tar-'));
    temp.push(dir);
    const tarBytes = await zstdDecode(answer.body);
    mkdirSync(join(dir, 'x'));
    const untar = spawnSync('tar', ['-x', '-C', join(dir, 'x')], { input: tarBytes });
    expect(untar.status, untar.stderr.toString()).toBe(0);
    expect(sha256(readFileSync(join(dir, 'x', 'data.bin')))).toBe(data.sha256);
    expect(readFileSync(join(dir, 'x', 'dir', 'small.txt'), 'utf8')).toBe('small file\n');
  });
});
