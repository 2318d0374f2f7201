import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunboxError } from '../../src/errors/index.js';
import migration005 from '../../src/queue/sqlite/migrations/005_blobs.js';
import { SqliteBlobLedger } from '../../src/queue/sqlite/blobLedger/SqliteBlobLedger.js';
import { FileBlobStore } from '../../src/storage/fs/FileBlobStore.js';
import { collectS3Garbage } from '../../src/storage/s3/collectS3Garbage.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3/S3BlobStore.js';
import { createS3BlobStore } from '../../src/storage/s3/createS3BlobStore.js';
import { probeConditionalPut } from '../../src/storage/s3/s3Client.js';
import { seekTableBytes } from '../../src/storage/s3/seekTable.js';
import { FrameDecompressor } from '../../src/storage/zstd/FrameDecompressor.js';
import { selectZstdCodec } from '../../src/storage/zstd/selectCodec.js';
import { freshBucket, listKeys, testS3, testS3Client } from '../helpers/s3Server.js';

const MiB = 1024 * 1024;
const FRAME = 256 * 1024;

/** Random and repetitive 64 KiB stretches in turn, like real outputs. */
function mixedBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from('a repetitive line of output 0123456789 abcdefghij\n');
  for (let at = 0; at < size; at += 64 * 1024) {
    const piece = Math.min(64 * 1024, size - at);
    if ((at / (64 * 1024)) % 2 === 0) randomBytes(piece).copy(out, at);
    else for (let i = 0; i < piece; i++) out[at + i] = text[i % text.length]!;
  }
  return out;
}

async function collect(stream: Readable | Promise<Readable>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The S3 calls a store made, by command name, with their inputs. */
function spyCalls(client: S3Client) {
  const spy = vi.spyOn(client, 'send');
  return {
    calls: () =>
      spy.mock.calls.map(([command]) => ({
        name: command.constructor.name,
        input: command.input as Record<string, unknown>,
      })),
    restore: () => spy.mockRestore(),
  };
}

describe('S3BlobStore against an S3-compatible server', () => {
  let client: S3Client;
  let bucket: string;
  let removeBucket: () => Promise<void>;
  const dirs: string[] = [];
  let codec: Awaited<ReturnType<typeof selectZstdCodec>>;
  let conditionalPut: boolean;

  function cacheStore(): FileBlobStore {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-s3-cache-'));
    dirs.push(dir);
    return new FileBlobStore({ dataDir: dir, codec, frameBytes: FRAME });
  }

  function makeStore(options: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
    return new S3BlobStore({
      client,
      bucket,
      cache: cacheStore(),
      frameBytes: FRAME,
      conditionalPut,
      ...options,
    });
  }

  beforeAll(async () => {
    client = testS3Client();
    ({ bucket, remove: removeBucket } = await freshBucket(client));
    codec = await selectZstdCodec({ codec: 'auto', level: 3, frameBytes: FRAME });
    conditionalPut = await probeConditionalPut(client, bucket, 'blobs/');
  });

  afterAll(async () => {
    await removeBucket?.();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('probes conditional writes and leaves no probe object behind', async () => {
    // s3rver overwrites on PUT with If-None-Match: *, so the store must fall back to
    // head-then-put there; a server that refuses the overwrite would answer true.
    expect(conditionalPut).toBe(false);
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('checks at start that the bucket takes writes, naming what to fix', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'runbox-s3-start-'));
    dirs.push(dataDir);
    const config = { dataDir, zstd: { codec: 'auto' as const, level: 3, frameBytes: FRAME } };
    const { endpoint, credentials } = testS3();
    const store = await createS3BlobStore(
      { blobs: { kind: 's3', bucket, prefix: 'team/', endpoint }, credentials },
      config,
    );
    const { sha256 } = await store.put(Buffer.from('hello'));
    expect(await listKeys(client, bucket, 'team/')).toEqual([`team/blobs/${sha256}`]);
    await store.remove(sha256);
    await store.close();
    await expect(
      createS3BlobStore(
        { blobs: { kind: 's3', bucket: 'no-such-bucket-here', endpoint }, credentials },
        config,
      ),
    ).rejects.toMatchObject({ type: 'InvalidConfig', message: /create the bucket first/ });
    await expect(
      createS3BlobStore(
        {
          blobs: { kind: 's3', bucket, endpoint },
          credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
        },
        config,
      ),
    ).rejects.toMatchObject({ type: 'InvalidConfig', message: /HTTP 403/ });
    await expect(
      createS3BlobStore(
        { blobs: { kind: 's3', bucket, endpoint: 'http://127.0.0.1:1' }, credentials },
        config,
      ),
    ).rejects.toMatchObject({ type: 'InvalidConfig', message: /check the endpoint/ });
  });

  // Seen on a fleet: the bucket removed under running nodes failed every attempt with
  // "storing logs and outputs failed: The specified bucket does not exist", naming
  // neither the bucket nor the setting nor the fix.
  it('a bucket gone after start fails an upload naming blobs.bucket and the fix', async () => {
    const gone = await freshBucket(client);
    await gone.remove();
    const store = makeStore({ bucket: gone.bucket });
    const error = await store.put(Buffer.from('outputs with nowhere to go')).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RunboxError);
    expect(error).toMatchObject({ type: 'Internal', field: 'blobs.bucket' });
    expect((error as Error).message).toContain(`bucket ${gone.bucket}`);
    expect((error as Error).message).toContain('create the bucket, or correct blobs.bucket');
  });

  it('stores blobs under blobs/<sha256> and reads back the same bytes (empty, small, many frames)', async () => {
    const store = makeStore();
    const empty = Buffer.alloc(0);
    const small = Buffer.from('naïve ☃ output\n\u0000\u00ff', 'utf8');
    const big = mixedBytes(3 * MiB + 12345); // 13 frames of 256 KiB
    for (const data of [empty, small, big]) {
      const stored = await store.put(Readable.from([data]));
      expect(stored.sha256).toBe(sha(data));
      expect(stored.size).toBe(data.length);
      const head = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: `blobs/${stored.sha256}` }),
      );
      const frames = Math.max(1, Math.ceil(data.length / FRAME));
      // compressedSize counts the object: the frames and the seek table.
      expect(head.ContentLength).toBe(stored.compressedSize);
      const cached = await store.cache.stat(stored.sha256);
      expect(stored.compressedSize).toBe(cached!.compressedSize + seekTableBytes(frames));
      expect(await store.stat(stored.sha256)).toEqual(stored);
      // Another node: an empty cache, so every byte comes from the bucket.
      const other = makeStore({ cacheMaxBytes: 0 });
      expect((await collect(other.openDecompressed(stored.sha256))).equals(data)).toBe(true);
      const frames1 = await collect(store.cache.openCompressed(stored.sha256));
      const object = await collect(other.openCompressed(stored.sha256));
      expect(object.length).toBe(stored.compressedSize);
      expect(object.subarray(0, frames1.length).equals(frames1)).toBe(true);
    }
  });

  it('keeps each object a plain zstd stream: the seek table is a skippable frame', async () => {
    const store = makeStore();
    const data = mixedBytes(MiB + 7);
    const { sha256 } = await store.put(data);
    const object = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `blobs/${sha256}` }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    const decoded = await collect(Readable.from([bytes]).pipe(new FrameDecompressor({ codec })));
    expect(decoded.equals(data)).toBe(true);
    // The zstd CLI agrees (it skips skippable frames).
    const viaCli = execFileSync('zstd', ['-d', '-c', '-q'], { input: bytes, maxBuffer: 8 * MiB });
    expect(sha(viaCli)).toBe(sha256);
  });

  it('reads a range by fetching only the frames that hold it', async () => {
    const writer = makeStore();
    const data = mixedBytes(4 * MiB); // 16 frames
    const { sha256, compressedSize } = await writer.put(data);
    const reader = makeStore({ cacheMaxBytes: 0 });
    const spy = spyCalls(client);
    try {
      // Crosses one frame boundary: two frames are needed.
      const start = 5 * FRAME - 1000;
      const end = 5 * FRAME + 999;
      const got = await collect(reader.openDecompressed(sha256, { start, end }));
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
      const ranges = spy
        .calls()
        .filter((c) => c.name === 'GetObjectCommand')
        .map((c) => /^bytes=(\d+)-(\d+)$/.exec(c.input.Range as string)!)
        .map((m) => Number(m[2]) - Number(m[1]) + 1);
      // The seek table, then the frames: far less than the whole blob.
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBe(seekTableBytes(16));
      expect(ranges[1]).toBeLessThan((compressedSize / 16) * 2.5);
    } finally {
      spy.restore();
    }
    for (const [start, end] of [
      [0, 0],
      [FRAME - 1, FRAME],
      [data.length - 1, data.length - 1],
      [data.length - 10, data.length + 100], // past the end: cut at the end
      [123, data.length - 1],
    ] as const) {
      const got = await collect(reader.openDecompressed(sha256, { start, end }));
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
    }
    expect(
      (await collect(reader.openDecompressed(sha256, { start: data.length, end: data.length })))
        .length,
    ).toBe(0);
  });

  it('never uploads a stored blob again', async () => {
    const store = makeStore();
    const data = randomBytes(50_000);
    await store.put(data);
    const other = makeStore();
    const spy = spyCalls(client);
    try {
      await other.put(Readable.from([data]));
      const names = spy.calls().map((c) => c.name);
      expect(names).not.toContain('PutObjectCommand');
      expect(names).toContain('HeadObjectCommand');
    } finally {
      spy.restore();
    }
  });

  it('makes a batch visible only at commit, and leaves nothing of a discarded one', async () => {
    const store = makeStore();
    const a = randomBytes(10_000);
    const b = mixedBytes(600_000);
    const batch = store.beginBatch();
    const sa = await store.put(a, { batch });
    const sb = await store.put(Readable.from([b]), { batch });
    expect(await store.stat(sa.sha256)).toBeNull();
    expect(await store.stat(sb.sha256)).toBeNull();
    await batch.commit();
    expect(await store.stat(sa.sha256)).toEqual(sa);
    expect((await collect(makeStore().openDecompressed(sb.sha256))).equals(b)).toBe(true);

    const c = randomBytes(20_000);
    const discarded = store.beginBatch();
    const sc = await store.put(c, { batch: discarded });
    await discarded.discard();
    expect(await store.stat(sc.sha256)).toBeNull();
    expect(await listKeys(client, bucket, `blobs/${sc.sha256}`)).toEqual([]);
    expect(filesUnder(store.cache.paths.tmp)).toEqual([]);
  });

  it('uploads nothing and leaves no temp file when a blob is over its limit', async () => {
    const store = makeStore();
    const data = randomBytes(300_000);
    await expect(store.put(Readable.from([data]), { maxBytes: 100_000 })).rejects.toMatchObject({
      type: 'OutputLimitExceeded',
    });
    expect(await listKeys(client, bucket, `blobs/${sha(data)}`)).toEqual([]);
    expect(filesUnder(store.cache.paths.tmp)).toEqual([]);
  });

  it('answers NotFound for a missing blob and refuses a malformed key', async () => {
    const store = makeStore();
    const missing = 'f'.repeat(64);
    expect(await store.stat(missing)).toBeNull();
    await expect(collect(store.openDecompressed(missing))).rejects.toMatchObject({
      type: 'NotFound',
    });
    await expect(collect(store.openDecompressed(missing, { start: 1, end: 2 }))).rejects.toThrow(
      RunboxError,
    );
    await expect(store.openCompressed('../../etc/passwd')).rejects.toMatchObject({
      type: 'InvalidSpec',
      field: 'sha256',
    });
    await expect(
      store.openDecompressed('f'.repeat(64), { start: 5, end: 4 }),
    ).rejects.toMatchObject({ type: 'InvalidSpec', field: 'range' });
    await store.remove(missing); // not an error
  });

  it('reads again, whole and right, when another node re-uploads the blob with other frames mid-read', async () => {
    const store = makeStore({ cacheMaxBytes: 0 });
    const data = mixedBytes(2 * MiB);
    const { sha256 } = await makeStore().put(data);
    // The same content from a node with smaller frames: other offsets, another ETag.
    const otherNode = new S3BlobStore({
      client,
      bucket,
      conditionalPut,
      frameBytes: 64 * 1024,
      cache: new FileBlobStore({
        dataDir: mkdtempSync(join(tmpdir(), 'runbox-s3-cache-')),
        codec,
        frameBytes: 64 * 1024,
      }),
    });
    dirs.push(join(otherNode.cache.paths.root, '..'));
    // Replace the object between the HEAD and the first GET: s3rver ignores If-Match, so
    // the store must notice the new ETag itself, and open again before serving a byte.
    const send = client.send.bind(client);
    let heads = 0;
    const spy = vi.spyOn(client, 'send').mockImplementation(async (command: unknown) => {
      const name = (command as object).constructor.name;
      if (name === 'HeadObjectCommand') heads += 1;
      if (name === 'GetObjectCommand' && heads === 1) {
        heads += 1;
        await store.remove(sha256);
        await otherNode.put(data);
      }
      return send(command as never);
    });
    try {
      const start = MiB - 5;
      const got = await collect(store.openDecompressed(sha256, { start, end: MiB + 70_000 }));
      expect(got.equals(data.subarray(start, MiB + 70_001))).toBe(true);
      expect(heads).toBeGreaterThanOrEqual(3); // the second open asked again
    } finally {
      spy.mockRestore();
    }
    const object = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `blobs/${sha256}` }),
    );
    expect(object.Metadata?.['runbox-frames']).toBe('32'); // the other node's upload
  });

  it('fills the cache on a whole read of a small blob and keeps the cache under its bound', async () => {
    const writer = makeStore();
    const blobs = Array.from({ length: 6 }, () => randomBytes(100_000));
    const stored = [];
    for (const b of blobs) stored.push(await writer.put(b));
    const reader = makeStore({ cacheMaxBytes: 1_000_000 });
    await collect(reader.openDecompressed(stored[0]!.sha256));
    expect((await reader.cache.stat(stored[0]!.sha256))?.size).toBe(100_000);
    const spy = spyCalls(client);
    try {
      const again = await collect(reader.openDecompressed(stored[0]!.sha256));
      expect(again.equals(blobs[0]!)).toBe(true);
      expect(spy.calls()).toEqual([]); // served from the cache
    } finally {
      spy.restore();
    }
    // Blobs bigger than an eighth of the cache stream straight from the bucket.
    const bigReader = makeStore({ cacheMaxBytes: 400_000 });
    await collect(bigReader.openDecompressed(stored[1]!.sha256));
    expect(await bigReader.cache.stat(stored[1]!.sha256)).toBeNull();
    // The writer's cache: puts past the bound evict the least recently used.
    const small = makeStore({ cacheMaxBytes: 350_000 });
    for (const b of blobs) await small.put(b);
    const usage = await small.cache.usage();
    expect(usage.compressedBytes).toBeLessThanOrEqual(350_000);
    expect(usage.blobs).toBeGreaterThan(0);
    expect(await small.cache.stat(stored[5]!.sha256)).not.toBeNull(); // newest kept
  });

  describe('multipart uploads past multipart.thresholdBytes', () => {
    // s3rver 3.7 takes CreateMultipartUpload, UploadPart and CompleteMultipartUpload and
    // does not enforce S3's 5 MiB minimum part, so 1 MiB parts exercise the path on a few
    // MiB. It answers AbortMultipartUpload with 405 (not implemented): the abort is
    // checked by what runbox sends, and what the bucket shows afterwards.
    const multipart = { thresholdBytes: MiB, partBytes: MiB, concurrency: 3 };

    /** Makes the client's send fail for the commands `fails` picks; the rest go through. */
    function failing(fails: (command: object) => Error | null) {
      const original = client.send.bind(client);
      const spy = vi.spyOn(client, 'send');
      spy.mockImplementation(((command: object, ...rest: unknown[]) => {
        const error = fails(command);
        if (error) return Promise.reject(error);
        return (original as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
      }) as never);
      return spy;
    }

    it('uploads in streamed parts of at most partBytes, and reads back whole and by range', async () => {
      const store = makeStore({ multipart });
      const data = mixedBytes(6 * MiB + 12_345);
      const spy = spyCalls(client);
      let stored;
      let calls;
      try {
        stored = await store.put(Readable.from([data]));
        calls = spy.calls();
      } finally {
        spy.restore();
      }
      const names = calls.map((c) => c.name);
      expect(names).not.toContain('PutObjectCommand');
      expect(names.filter((n) => n === 'CreateMultipartUploadCommand')).toHaveLength(1);
      expect(names.filter((n) => n === 'CompleteMultipartUploadCommand')).toHaveLength(1);
      const parts = calls.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input);
      expect(parts.length).toBe(Math.ceil(stored.compressedSize / MiB));
      expect(parts.length).toBeGreaterThan(2);
      for (const part of parts) {
        // A stream read from the cache file as it is sent, never a buffer of the blob.
        expect(part.Body).toBeInstanceOf(Readable);
        expect(part.ContentLength).toBeLessThanOrEqual(MiB);
      }
      expect(parts.reduce((sum, p) => sum + (p.ContentLength as number), 0)).toBe(
        stored.compressedSize,
      );
      expect(stored.sha256).toBe(sha(data));
      expect(await store.stat(stored.sha256)).toEqual({
        sha256: stored.sha256,
        size: data.length,
        compressedSize: stored.compressedSize,
      });
      const reader = makeStore({ cacheMaxBytes: 0 }); // every read from the bucket
      expect((await collect(reader.openDecompressed(stored.sha256))).equals(data)).toBe(true);
      const range = { start: 3 * MiB - 7, end: 4 * MiB + 99 };
      const part = await collect(reader.openDecompressed(stored.sha256, range));
      expect(part.equals(data.subarray(range.start, range.end + 1))).toBe(true);
      // The object is still a plain zstd stream followed by the seek table.
      const raw = await collect(reader.openCompressed(stored.sha256));
      expect(raw.length).toBe(stored.compressedSize);
      const decoder = new FrameDecompressor({ codec });
      expect((await collect(Readable.from([raw]).pipe(decoder))).equals(data)).toBe(true);
    });

    it('never uploads a stored blob again, in parts either', async () => {
      const data = mixedBytes(3 * MiB);
      await makeStore({ multipart }).put(data);
      const spy = spyCalls(client);
      try {
        await makeStore({ multipart }).put(Readable.from([data]));
        const names = spy.calls().map((c) => c.name);
        expect(names).toContain('HeadObjectCommand');
        expect(names).not.toContain('CreateMultipartUploadCommand');
        expect(names).not.toContain('UploadPartCommand');
      } finally {
        spy.restore();
      }
    });

    it('aborts the upload when a part fails: no object, the failure thrown, AbortMultipartUpload sent', async () => {
      const store = makeStore({ multipart });
      const data = mixedBytes(5 * MiB);
      const refused = Object.assign(new Error('part 3 refused'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
      const spy = failing((command) =>
        command instanceof UploadPartCommand && command.input.PartNumber === 3 ? refused : null,
      );
      let calls;
      try {
        await expect(store.put(data)).rejects.toThrow('part 3 refused');
        calls = spy.mock.calls.map(([c]) => ({
          name: c.constructor.name,
          input: c.input as Record<string, unknown>,
        }));
      } finally {
        spy.mockRestore();
      }
      const created = calls.find((c) => c.name === 'CreateMultipartUploadCommand');
      expect(created).toBeDefined();
      const uploadId = calls.find((c) => c.name === 'UploadPartCommand')?.input.UploadId;
      const aborts = calls.filter((c) => c.name === 'AbortMultipartUploadCommand');
      expect(aborts).toHaveLength(1);
      expect(aborts[0]!.input).toMatchObject({ UploadId: uploadId, Key: store.key(sha(data)) });
      expect(calls.map((c) => c.name)).not.toContain('CompleteMultipartUploadCommand');
      expect(await listKeys(client, bucket, store.key(sha(data)))).toEqual([]);
      expect(await store.stat(sha(data))).toBeNull();
    });

    it('with conditional writes, a Complete refused because the key exists drops its parts and answers the stored object', async () => {
      const data = mixedBytes(3 * MiB);
      const first = await makeStore({ multipart }).put(data);
      // As AWS S3 does when If-None-Match: * finds the key (s3rver ignores the header).
      const taken = Object.assign(new Error('At least one of the preconditions failed'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      });
      const store = makeStore({ multipart, conditionalPut: true });
      const spy = failing((command) =>
        command instanceof CompleteMultipartUploadCommand ? taken : null,
      );
      let calls;
      try {
        const second = await store.put(data);
        expect(second.compressedSize).toBe(first.compressedSize);
        calls = spy.mock.calls.map(([c]) => ({
          name: c.constructor.name,
          input: c.input as Record<string, unknown>,
        }));
      } finally {
        spy.mockRestore();
      }
      const complete = calls.find((c) => c.name === 'CompleteMultipartUploadCommand');
      expect(complete?.input.IfNoneMatch).toBe('*');
      expect(calls.map((c) => c.name)).toContain('AbortMultipartUploadCommand');
    });
  });

  describe('gc by the blobs table (SQLite migration 005)', () => {
    let db: Database.Database;
    let now = 1_000_000;
    let ledger: SqliteBlobLedger;

    beforeAll(() => {
      db = new Database(':memory:');
      // job_blobs as migration 001 has it, without the jobs table it refers to.
      db.exec(
        'CREATE TABLE job_blobs (job_id TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (job_id, sha256)) STRICT, WITHOUT ROWID;',
      );
      db.exec(migration005);
      ledger = new SqliteBlobLedger(db, () => now);
    });

    afterAll(() => db.close());

    const row = (sha256: string) =>
      db.prepare('SELECT * FROM blobs WHERE sha256 = ?').get(sha256) as
        | { last_referenced_at: number; condemned_at: number | null; deleting_until: number | null }
        | undefined;

    it('records every put, and removes only blobs unreferenced and untouched for the grace period', async () => {
      const store = makeStore({ ledger });
      const old = await store.put(randomBytes(1000));
      const referenced = await store.put(randomBytes(1000));
      db.prepare("INSERT INTO job_blobs VALUES ('job1', ?)").run(referenced.sha256);
      now += 10_000;
      const fresh = await store.put(randomBytes(1000));
      // A put of a blob already stored still counts as a use.
      now += 1;
      const reput = await store.put(randomBytes(1000));
      now += 5_000;
      await store.put(
        await collect(makeStore().openDecompressed(reput.sha256)), // the same bytes again
      );
      expect(row(reput.sha256)?.last_referenced_at).toBe(now);
      now += 1_000;
      const report = await collectS3Garbage({ store, ledger, graceMs: 6_500 });
      expect(report).toEqual({ removedBlobs: 1, deferredBlobs: 0 });
      expect(await store.stat(old.sha256)).toBeNull();
      expect(row(old.sha256)).toBeUndefined();
      for (const kept of [referenced, fresh, reput]) {
        expect(await store.stat(kept.sha256)).not.toBeNull();
      }
    });

    it('makes a put of a blob being deleted wait for the deadline and upload it again', async () => {
      const store = makeStore({ ledger });
      const data = randomBytes(2000);
      const { sha256 } = await store.put(data);
      now += 60_000;
      // gc, step 1: condemned for the next 400 ms.
      expect(await ledger.condemn({ graceMs: 1000, deleteWithinMs: 400, limit: 10 })).toContain(
        sha256,
      );
      // A node stores the same blob now: HEAD would find the object, but gc may delete it
      // any moment, so the put must wait out the deadline and write it anyway.
      const started = performance.now();
      const put = makeStore({ ledger }).put(data);
      // gc, step 2 runs while the put waits; step 3 keeps the touched row.
      await new Promise((r) => setTimeout(r, 50));
      await store.remove(sha256);
      await ledger.forget([sha256]);
      await put;
      expect(performance.now() - started).toBeGreaterThanOrEqual(350);
      expect(row(sha256)).toMatchObject({ last_referenced_at: now });
      const back = await collect(makeStore({ cacheMaxBytes: 0 }).openDecompressed(sha256));
      expect(back.equals(data)).toBe(true);
    });

    it('removeIfIdle asks the blobs table, never object times; without a table it keeps everything', async () => {
      const store = makeStore({ ledger });
      const idle = await store.put(randomBytes(3000));
      const used = await store.put(randomBytes(3000));
      db.prepare("INSERT INTO job_blobs VALUES ('job2', ?)").run(used.sha256);
      now += 10_000;
      const fresh = await store.put(randomBytes(3000));
      // The same blob put again by another node: the object is not rewritten, its
      // LastModified stays old, yet the put counts.
      const reput = await store.put(randomBytes(3000));
      now += 10_000;
      await makeStore({ ledger }).put(await collect(store.openDecompressed(reput.sha256)));
      const listed = new Map<string, number>();
      for await (const entry of store.list()) listed.set(entry.sha256, entry.compressedSize);
      expect(listed.get(idle.sha256)).toBe(idle.compressedSize);
      expect(await store.removeIfIdle(idle.sha256, 15_000)).toBe(idle.compressedSize);
      expect(await store.stat(idle.sha256)).toBeNull();
      expect(await store.removeIfIdle(used.sha256, 15_000)).toBe(0);
      expect(await store.removeIfIdle(fresh.sha256, 15_000)).toBe(0);
      expect(await store.removeIfIdle(reput.sha256, 15_000)).toBe(0);
      expect(await store.removeIfIdle(idle.sha256, 15_000)).toBe(0); // already gone
      for (const kept of [used, fresh, reput]) {
        expect(await store.stat(kept.sha256)).not.toBeNull();
      }
      const noLedger = makeStore();
      expect(await noLedger.removeIfIdle(fresh.sha256, 0)).toBe(0);
      expect(await store.stat(fresh.sha256)).not.toBeNull();
    });

    it('defers deletions it could not start before the deadline', async () => {
      const store = makeStore({ ledger });
      const { sha256 } = await store.put(randomBytes(100));
      now += 60_000;
      let t = 0;
      const report = await collectS3Garbage({
        store,
        ledger,
        graceMs: 1000,
        deleteWithinMs: 1000,
        requestTimeoutMs: 500,
        clock: () => (t += 600), // every check finds the deadline too close
      });
      expect(report.removedBlobs).toBe(0);
      expect(report.deferredBlobs).toBeGreaterThan(0);
      expect(await store.stat(sha256)).not.toBeNull();
      expect(row(sha256)?.condemned_at).not.toBeNull();
    });
  });
});
