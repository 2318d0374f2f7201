import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/maintenance/blobGc.js';
import type { BlobStore } from '../../src/storage/BlobStore.js';
import { FrameDecompressor, selectZstdCodec } from '../../src/storage/zstd/index.js';

/**
 * One suite for every blob store (BlobStore.ts states the contract; this checks it).
 * A store's test file calls blobStoreConformance(name, makeStore); see
 * blobStore.fs.test.ts. Ages are real: the gc cases wait a few hundred ms.
 */
export interface BlobHarness {
  store: BlobStore;
  /** Closes the store and drops what it created (folder, bucket prefix). */
  dispose(): Promise<void>;
}

/** A fresh, EMPTY store that cuts frames every `frameBytes` of input. */
export type MakeBlobStore = (options: { frameBytes: number }) => Promise<BlobHarness>;

const KiB = 1024;
const FRAME = 64 * KiB;

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function collect(source: Readable | Promise<Readable>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Random and repetitive stretches in turn; invalid UTF-8 included. */
function bytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 8 * KiB) {
    const chunk = (at / (8 * KiB)) % 2 === 0 ? randomBytes(8 * KiB) : Buffer.alloc(8 * KiB, 0xff);
    chunk.copy(out, at);
  }
  return out;
}

async function listed(store: BlobStore): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for await (const entry of store.list()) {
    expect(seen.has(entry.sha256)).toBe(false);
    seen.set(entry.sha256, entry.compressedSize);
  }
  return seen;
}

export function blobStoreConformance(name: string, makeStore: MakeBlobStore): void {
  describe(`blob store conformance: ${name}`, () => {
    const harnesses: BlobHarness[] = [];
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.dispose();
    });
    async function open(): Promise<BlobStore> {
      const harness = await makeStore({ frameBytes: FRAME });
      harnesses.push(harness);
      return harness.store;
    }

    it('stores a stream and a buffer under the sha256 of their bytes, and reads them back', async () => {
      const store = await open();
      const data = bytes(5 * FRAME + 123);
      const fromStream = await store.put(
        Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
      );
      expect(fromStream).toMatchObject({ sha256: sha(data), size: data.length });
      expect(fromStream.compressedSize).toBeGreaterThan(0);
      expect(await store.stat(sha(data))).toEqual(fromStream);
      expect((await collect(store.openDecompressed(sha(data)))).equals(data)).toBe(true);
      const small = Buffer.from('naïve ✓ \u0000\xff');
      const fromBuffer = await store.put(small);
      expect(fromBuffer).toMatchObject({ sha256: sha(small), size: small.length });
      expect((await collect(store.openDecompressed(sha(small)))).equals(small)).toBe(true);
    });

    it('an empty blob is a blob', async () => {
      const store = await open();
      const empty = await store.put(Buffer.alloc(0));
      expect(empty).toMatchObject({ sha256: sha(Buffer.alloc(0)), size: 0 });
      expect(await store.stat(empty.sha256)).toMatchObject({ size: 0 });
      expect((await collect(store.openDecompressed(empty.sha256))).length).toBe(0);
    });

    it('the compressed form is independent zstd frames any decoder reads', async () => {
      const store = await open();
      const data = bytes(3 * FRAME + 7);
      const stored = await store.put(data);
      const frames = await collect(store.openCompressed(stored.sha256));
      expect(frames.length).toBe(stored.compressedSize);
      const codec = await selectZstdCodec({ codec: 'js', level: 3, frameBytes: FRAME });
      const decoded = await collect(
        Readable.from([frames]).pipe(new FrameDecompressor({ codec })) as unknown as Readable,
      );
      expect(decoded.equals(data)).toBe(true);
    });

    it('reads any inclusive range, across frame boundaries, an end past the blob clamped', async () => {
      const store = await open();
      const data = bytes(4 * FRAME + 99);
      const { sha256 } = await store.put(data);
      const last = data.length - 1;
      for (const [start, end] of [
        [0, 0],
        [0, last],
        [FRAME - 1, FRAME],
        [FRAME, 3 * FRAME - 1],
        [3 * FRAME + 5, last],
        [last, last],
        [last - 10, last + 1000],
      ] as const) {
        const got = await collect(store.openDecompressed(sha256, { start, end }));
        expect(got.equals(data.subarray(start, Math.min(end, last) + 1))).toBe(true);
      }
      await expect(store.openDecompressed(sha256, { start: 10, end: 5 })).rejects.toMatchObject({
        type: 'InvalidSpec',
        field: 'range',
      });
      await expect(store.openDecompressed(sha256, { start: 0.5, end: 5 })).rejects.toMatchObject({
        field: 'range',
      });
    });

    it('a missing blob: stat null, open rejects NotFound before any byte, removal is a no-op', async () => {
      const store = await open();
      const missing = 'f'.repeat(64);
      expect(await store.stat(missing)).toBeNull();
      await expect(store.openDecompressed(missing)).rejects.toMatchObject({ type: 'NotFound' });
      await expect(store.openCompressed(missing)).rejects.toMatchObject({ type: 'NotFound' });
      await store.remove(missing);
      expect(await store.removeIfIdle(missing, 0)).toBe(0);
    });

    it('a key that is not a sha256 is refused before touching storage', async () => {
      const store = await open();
      for (const key of ['../../etc/passwd', 'A'.repeat(64), 'ab/../cd', '', 'é'.repeat(64)]) {
        await expect(store.openCompressed(key)).rejects.toMatchObject({ type: 'InvalidSpec' });
        await expect(store.openDecompressed(key)).rejects.toMatchObject({ type: 'InvalidSpec' });
        await expect(store.remove(key)).rejects.toMatchObject({ type: 'InvalidSpec' });
      }
    });

    it('the same bytes put twice, even at once, are one blob', async () => {
      const store = await open();
      const data = bytes(2 * FRAME);
      const [a, b] = await Promise.all([store.put(data), store.put(Readable.from([data]))]);
      const c = await store.put(data);
      expect(a!.sha256).toBe(b!.sha256);
      expect(c.sha256).toBe(a!.sha256);
      expect([...(await listed(store)).keys()]).toEqual([a!.sha256]);
      expect((await collect(store.openDecompressed(a!.sha256))).equals(data)).toBe(true);
    });

    it('stops at maxBytes with OutputLimitExceeded and stores nothing', async () => {
      const store = await open();
      const data = bytes(3 * FRAME);
      await expect(store.put(Readable.from([data]), { maxBytes: FRAME })).rejects.toMatchObject({
        type: 'OutputLimitExceeded',
      });
      await expect(store.put(data, { maxBytes: FRAME })).rejects.toMatchObject({
        type: 'OutputLimitExceeded',
      });
      expect(await store.stat(sha(data))).toBeNull();
      expect((await listed(store)).size).toBe(0);
      // At the limit exactly is allowed.
      expect((await store.put(data, { maxBytes: data.length })).size).toBe(data.length);
    });

    it('a batch: committed blobs are readable; discarded ones are never partial', async () => {
      const store = await open();
      const kept = [bytes(FRAME + 1), Buffer.from('two')];
      const batch = store.beginBatch();
      const stored = await Promise.all(kept.map((data) => store.put(data, { batch })));
      await batch.commit();
      for (const [i, s] of stored.entries()) {
        expect((await collect(store.openDecompressed(s.sha256))).equals(kept[i]!)).toBe(true);
      }
      const dropped = bytes(2 * FRAME + 3);
      const other = store.beginBatch();
      const s = await store.put(Readable.from([dropped]), { batch: other });
      await other.discard();
      const after = await store.stat(s.sha256);
      if (after !== null) {
        expect((await collect(store.openDecompressed(s.sha256))).equals(dropped)).toBe(true);
      }
      const foreign = (await open()).beginBatch();
      await expect(store.put(Buffer.from('x'), { batch: foreign })).rejects.toMatchObject({
        type: 'Internal',
      });
      await foreign.discard();
    });

    it('many small blobs in one batch: each readable whole, by range and compressed, listed once', async () => {
      const store = await open();
      // Sizes from empty to a few KiB, some contents twice (within the batch).
      const blobs = Array.from({ length: 300 }, (_, i) =>
        i % 50 === 49 ? Buffer.from(`copy ${i % 3}`) : randomBytes((i * 37) % 3000),
      );
      const batch = store.beginBatch();
      const stored = await Promise.all(blobs.map((data) => store.put(data, { batch })));
      await batch.commit();
      const seen = await listed(store);
      expect(seen.size).toBe(new Set(blobs.map(sha)).size);
      for (const [i, s] of stored.entries()) {
        const data = blobs[i]!;
        expect(s).toMatchObject({ sha256: sha(data), size: data.length });
        expect(await store.stat(s.sha256)).toEqual(s);
        expect(seen.get(s.sha256)).toBe(s.compressedSize);
        expect((await collect(store.openDecompressed(s.sha256))).equals(data)).toBe(true);
      }
      const last = blobs[298]!; // 2026 random bytes
      const range = { start: 100, end: 2000 };
      expect(
        (await collect(store.openDecompressed(sha(last), range))).equals(last.subarray(100, 2001)),
      ).toBe(true);
      const compressed = await collect(store.openCompressed(sha(last)));
      expect(compressed.length).toBe(stored[298]!.compressedSize);
      const codec = await selectZstdCodec({ codec: 'js', level: 3, frameBytes: FRAME });
      const decoded = await collect(
        Readable.from([compressed]).pipe(new FrameDecompressor({ codec })) as unknown as Readable,
      );
      expect(decoded.equals(last)).toBe(true);
    });

    it('a small blob put again by a later batch is one blob whose grace period starts over', async () => {
      const store = await open();
      const data = Buffer.from('the same small output in two jobs ✓');
      const neighbour = randomBytes(500);
      const first = store.beginBatch();
      const s = await store.put(data, { batch: first });
      const n = await store.put(neighbour, { batch: first });
      await first.commit();
      await sleep(700);
      const second = store.beginBatch();
      expect(await store.put(data, { batch: second })).toEqual(s);
      await second.commit();
      expect((await listed(store)).size).toBe(2);
      expect(await store.removeIfIdle(s.sha256, 500)).toBe(0);
      await sleep(700);
      expect(await store.removeIfIdle(s.sha256, 500)).toBe(s.compressedSize);
      expect(await store.stat(s.sha256)).toBeNull();
      await expect(store.openDecompressed(s.sha256)).rejects.toMatchObject({ type: 'NotFound' });
      // Its neighbour from the same batch is untouched until removed itself.
      expect((await collect(store.openDecompressed(n.sha256))).equals(neighbour)).toBe(true);
      expect([...(await listed(store)).keys()]).toEqual([n.sha256]);
      expect(await store.removeIfIdle(n.sha256, 500)).toBe(n.compressedSize);
      expect((await listed(store)).size).toBe(0);
      // Removed, then put again: stored again.
      const third = store.beginBatch();
      await store.put(data, { batch: third });
      await third.commit();
      expect((await collect(store.openDecompressed(s.sha256))).equals(data)).toBe(true);
    });

    it('lists every blob once with its stored size; remove removes', async () => {
      const store = await open();
      const blobs = await Promise.all(
        [bytes(10), bytes(FRAME * 2), bytes(1)].map((d) => store.put(d)),
      );
      const seen = await listed(store);
      expect(seen.size).toBe(3);
      for (const b of blobs) expect(seen.get(b.sha256)).toBe(b.compressedSize);
      await store.remove(blobs[0]!.sha256);
      expect(await store.stat(blobs[0]!.sha256)).toBeNull();
      expect((await listed(store)).size).toBe(2);
    });

    it('removeIfIdle keeps a blob written or re-put within the grace period, and removes it after', async () => {
      const store = await open();
      const data = bytes(FRAME);
      const { sha256, compressedSize } = await store.put(data);
      expect(await store.removeIfIdle(sha256, 60_000)).toBe(0);
      await sleep(700);
      // A job puts the same bytes again: the grace period starts over.
      await store.put(data);
      expect(await store.removeIfIdle(sha256, 500)).toBe(0);
      expect(await store.stat(sha256)).not.toBeNull();
      await sleep(700);
      expect(await store.removeIfIdle(sha256, 500)).toBe(compressedSize);
      expect(await store.stat(sha256)).toBeNull();
    });

    it('gc removes only blobs nothing references and nothing wrote within the grace period', async () => {
      const store = await open();
      const [referenced, orphan, fresh] = [bytes(100), bytes(200), bytes(300)];
      const r = await store.put(referenced!);
      const o = await store.put(orphan!);
      await sleep(700);
      const f = await store.put(fresh!);
      const report = await collectGarbage({
        store,
        referenced: new Set([r.sha256]),
        olderThanMs: 500,
      });
      expect(report).toEqual({
        scannedBlobs: 3,
        removedBlobs: 1,
        freedBytes: o.compressedSize,
      });
      expect(await store.stat(o.sha256)).toBeNull();
      expect(await store.stat(r.sha256)).not.toBeNull();
      expect(await store.stat(f.sha256)).not.toBeNull();
    });

    it('a compressor writes the same frame format the store reads', async () => {
      const store = await open();
      const data = bytes(2 * FRAME + 5);
      const chunks: Buffer[] = [];
      await pipeline(Readable.from([data]), store.compressor(), async (source) => {
        for await (const chunk of source) chunks.push(chunk as Buffer);
      });
      const codec = await selectZstdCodec({ codec: 'js', level: 3, frameBytes: FRAME });
      const decoded = await collect(
        Readable.from([Buffer.concat(chunks)]).pipe(
          new FrameDecompressor({ codec }),
        ) as unknown as Readable,
      );
      expect(decoded.equals(data)).toBe(true);
    });
  });
}
