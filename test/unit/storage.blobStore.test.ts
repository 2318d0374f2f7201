import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';
import { collectGarbage } from '../../src/maintenance/blobGc.js';
import {
  assertFreeSpace,
  createFileBlobStore,
  freeBytes,
  type FileBlobStore,
} from '../../src/storage/index.js';

const MiB = 1024 * 1024;

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

function streamOf(data: Buffer, piece = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
    })(),
    { objectMode: false },
  );
}

async function collect(source: Readable | Promise<Readable>): Promise<Buffer> {
  const stream = await source;
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('FileBlobStore', () => {
  let dataDir: string;
  let config: Readonly<Config>;
  let store: FileBlobStore;
  const data = mixedBytes(5 * MiB + 4321);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-storage-'));
    config = loadConfig({ env: {}, overrides: { dataDir } });
    store = await createFileBlobStore(config);
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stores under the sha256 of the uncompressed bytes, fanned out by its first two digits', async () => {
    const stored = await store.put(streamOf(data));
    expect(stored.sha256).toBe(sha(data));
    expect(stored.size).toBe(data.length);
    expect(stored.compressedSize).toBeLessThan(data.length);
    const path = join(dataDir, 'blobs', stored.sha256.slice(0, 2), stored.sha256.slice(2));
    expect(existsSync(path)).toBe(true);
    expect(await store.stat(stored.sha256)).toEqual(stored);
    expect(readdirSync(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
  });

  it('round-trips a multi-frame blob with the same sha256, and serves the frames as they are', async () => {
    const { sha256, compressedSize } = await store.put(streamOf(data, 33_333));
    expect(sha(await collect(store.openDecompressed(sha256)))).toBe(sha256);
    const raw = await collect(store.openCompressed(sha256));
    expect(raw.length).toBe(compressedSize);
    expect(raw.readUInt32LE(0)).toBe(0xfd2fb528);
  });

  it('stores identical content once', async () => {
    const content = mixedBytes(300_000);
    const first = await store.put(streamOf(content));
    const second = await store.put(streamOf(content, 1000));
    expect(second).toEqual(first);
    const copies = filesUnder(join(dataDir, 'blobs')).filter((p) =>
      p.endsWith(first.sha256.slice(2)),
    );
    expect(copies).toHaveLength(1);
    expect(readdirSync(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
  });

  it('stores an empty output as a valid blob', async () => {
    const stored = await store.put(streamOf(Buffer.alloc(0)));
    expect(stored.size).toBe(0);
    expect((await collect(store.openDecompressed(stored.sha256))).length).toBe(0);
  });

  it('stops at maxBytes with OutputLimitExceeded, leaving no temp file and no blob', async () => {
    const before = filesUnder(join(dataDir, 'blobs')).sort();
    const source = streamOf(mixedBytes(3 * MiB));
    const error = await store.put(source, { maxBytes: 2 * MiB }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunboxError);
    expect(error).toMatchObject({ type: 'OutputLimitExceeded' });
    expect(source.destroyed).toBe(true); // reading stopped
    expect(filesUnder(join(dataDir, 'blobs')).sort()).toEqual(before);
  });

  it('a failing source removes its temp file and stores nothing', async () => {
    const before = filesUnder(join(dataDir, 'blobs')).sort();
    const source = Readable.from(
      (async function* () {
        yield randomBytes(2 * MiB);
        throw new Error('container went away');
      })(),
      { objectMode: false },
    );
    await expect(store.put(source)).rejects.toThrow('container went away');
    expect(filesUnder(join(dataDir, 'blobs')).sort()).toEqual(before);
  });

  describe('range reads', () => {
    let sha256: string;
    beforeAll(async () => {
      sha256 = (await store.put(streamOf(data))).sha256;
    });

    const cases: Array<[string, number, number]> = [
      ['the first byte', 0, 0],
      ['the start', 0, 99_999],
      ['across a frame boundary in the middle', 2 * MiB - 1000, 3 * MiB + 1000],
      ['exactly one frame', MiB, 2 * MiB - 1],
      ['the very end', data.length - 5000, data.length - 1],
      ['the last byte', data.length - 1, data.length - 1],
    ];
    for (const [name, start, end] of cases) {
      it(`${name} (${start}-${end}) matches the source bytes`, async () => {
        const got = await collect(store.openDecompressed(sha256, { start, end }));
        expect(got.length).toBe(end - start + 1);
        expect(got.equals(data.subarray(start, end + 1))).toBe(true);
      });
    }

    it('a range past the end yields what exists, not an error', async () => {
      const got = await collect(
        store.openDecompressed(sha256, { start: data.length - 10, end: data.length + 100 }),
      );
      expect(got.equals(data.subarray(data.length - 10))).toBe(true);
    });

    it('an inverted range is refused naming the range', async () => {
      await expect(store.openDecompressed(sha256, { start: 10, end: 5 })).rejects.toThrow(/range/);
    });
  });

  it('a missing blob: stat is null, opening it fails with NotFound, remove is a no-op', async () => {
    const missing = 'f'.repeat(64);
    expect(await store.stat(missing)).toBeNull();
    // The open itself rejects, before any byte: an HTTP answer can still be a 404.
    await expect(store.openDecompressed(missing)).rejects.toMatchObject({
      type: 'NotFound',
    });
    await expect(store.openCompressed(missing)).rejects.toMatchObject({
      type: 'NotFound',
    });
    await store.remove(missing);
  });

  it('a key that is not a sha256 never becomes a path', async () => {
    await expect(store.openCompressed('../../etc/passwd')).rejects.toThrow(/not 64 lowercase hex/);
    await expect(store.remove('ab/../../x')).rejects.toMatchObject({ type: 'InvalidSpec' });
  });

  it('sweepTempFiles removes temp files of dead processes and old ones, and keeps live ones', async () => {
    const tmp = join(dataDir, 'blobs', 'tmp');
    const dead = join(tmp, '999999999.abcdef.0000-1111.tmp');
    const live = join(tmp, `${process.ppid}.abcdef.2222-3333.tmp`);
    const liveButOld = join(tmp, `${process.ppid}.abcdef.4444-5555.tmp`);
    for (const path of [dead, live, liveButOld]) writeFileSync(path, 'x');
    const dayAgo = (Date.now() - 25 * 3600 * 1000) / 1000;
    utimesSync(liveButOld, dayAgo, dayAgo);
    expect(await store.sweepTempFiles()).toEqual({ removedFiles: 2, freedBytes: 2 });
    expect(readdirSync(tmp)).toEqual([live.slice(tmp.length + 1)]);
    rmSync(live);
  });

  it('a 200 MiB streamed put keeps RSS growth small', { timeout: 60_000 }, async () => {
    const total = 200 * MiB;
    const block = mixedBytes(4 * MiB); // reused: generating 200 MiB of random would dominate
    let produced = 0;
    const hash = createHash('sha256');
    const source = new Readable({
      read() {
        if (produced >= total) {
          this.push(null);
          return;
        }
        // Vary each block so frames are not all identical (cheaper than fresh random).
        const piece = Buffer.from(block);
        piece.writeUInt32LE(produced / MiB, 0);
        produced += piece.length;
        hash.update(piece);
        this.push(piece);
      },
    });
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const stored = await store.put(source);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - before;
    console.log(
      `200 MiB put (${store.codec.name}): ${(total / MiB / seconds).toFixed(0)} MiB/s, ` +
        `RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, ` +
        `growth ${(growth / MiB).toFixed(1)} MiB, ratio ${(stored.compressedSize / total).toFixed(2)}`,
    );
    expect(stored.sha256).toBe(hash.digest('hex'));
    expect(stored.size).toBe(total);
    expect(growth).toBeLessThan(100 * MiB);
    // A resumed download near the end decodes only the last frame or so.
    const tail = await collect(
      store.openDecompressed(stored.sha256, { start: total - 10, end: total - 1 }),
    );
    expect(tail.equals(block.subarray(block.length - 10))).toBe(true);
    await store.remove(stored.sha256);
  });
});

describe('disk space guard', () => {
  const dataDir = join(tmpdir(), `runbox-not-created-${process.pid}`, 'data');

  it('measures free bytes, even for a data dir not created yet', async () => {
    expect(await freeBytes(dataDir)).toBeGreaterThan(0);
  });

  it('passes with the default minimum and answers the free bytes', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir, limits: { minFreeBytes: 1 } } });
    expect(await assertFreeSpace(config)).toBeGreaterThan(0);
  });

  it('throws InsufficientStorage saying what is free, what is needed and what to do', async () => {
    const config = loadConfig({
      env: {},
      overrides: { dataDir, limits: { minFreeBytes: 2 ** 60 } },
    });
    const error = await assertFreeSpace(config).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'InsufficientStorage', field: 'limits.minFreeBytes' });
    const message = (error as Error).message;
    expect(message).toMatch(/only .* free on the disk of/);
    expect(message).toMatch(/at least 1024\.0 PiB \(limits\.minFreeBytes\)/);
    expect(message).toMatch(/runbox gc/);
  });
});

describe('garbage collection', () => {
  let dataDir: string;
  let store: FileBlobStore;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-gc-'));
    store = await createFileBlobStore(loadConfig({ env: {}, overrides: { dataDir } }));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function putAged(content: string, ageMs: number): Promise<string> {
    const { sha256 } = await store.put(streamOf(Buffer.from(content)));
    const when = (Date.now() - ageMs) / 1000;
    utimesSync(join(dataDir, 'blobs', sha256.slice(0, 2), sha256.slice(2)), when, when);
    return sha256;
  }

  it('removes old unreferenced blobs, keeps referenced and recent ones', async () => {
    const hour = 3600 * 1000;
    const oldReferenced = await putAged('kept: a job still points at it', 5 * hour);
    const oldOrphan = await putAged('removed: nothing points at it', 5 * hour);
    const freshOrphan = await putAged('kept: a running job just wrote it', 60 * 1000);
    const report = await collectGarbage({
      store,
      referenced: new Set([oldReferenced]),
      olderThanMs: hour,
    });
    expect(report).toMatchObject({ scannedBlobs: 3, removedBlobs: 1 });
    expect(report.freedBytes).toBeGreaterThan(0);
    expect(await store.stat(oldOrphan)).toBeNull();
    expect(await store.stat(oldReferenced)).not.toBeNull();
    expect(await store.stat(freshOrphan)).not.toBeNull();
  });

  it('accepts a predicate, and a re-put refreshes an old blob so gc keeps it', async () => {
    const hour = 3600 * 1000;
    const content = 'an old output that a new job produced again';
    const sha256 = await putAged(content, 5 * hour);
    await store.put(streamOf(Buffer.from(content))); // same content: refreshed, not rewritten
    const report = await collectGarbage({ store, referenced: () => false, olderThanMs: hour });
    expect(await store.stat(sha256)).not.toBeNull();
    // Only the blob the first case kept by reference goes: nothing references it now.
    expect(report).toMatchObject({ scannedBlobs: 3, removedBlobs: 1 });
    expect(await store.usage()).toMatchObject({ blobs: 2 });
  });
});
