import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPaths } from '../../src/storage/fs/fsyncBatch.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(source: Readable | Promise<Readable>): Promise<Buffer> {
  const stream = await source;
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('blob batches: many small blobs made durable together', () => {
  let dataDir: string;
  let store: FileBlobStore;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-batch-'));
    store = await createFileBlobStore({
      dataDir,
      zstd: { codec: 'auto', level: 3, frameBytes: 64 * 1024 },
    });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('names no blob before commit, every blob after it, and leaves no temp file', async () => {
    const batch = store.beginBatch();
    const blobs = Array.from({ length: 200 }, (_, i) => randomBytes(i * 7));
    const stored = [];
    for (const data of blobs) stored.push(await store.put(data, { batch }));
    for (const s of stored) expect(await store.stat(s.sha256)).toBeNull();
    await batch.commit();
    for (const [i, s] of stored.entries()) {
      expect(s.sha256).toBe(sha(blobs[i]!));
      expect(await collect(store.openDecompressed(s.sha256))).toEqual(blobs[i]);
    }
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('discard leaves nothing under a real name and no temp file', async () => {
    const batch = store.beginBatch();
    const data = randomBytes(5000);
    const stored = await store.put(data, { batch });
    await batch.discard();
    expect(await store.stat(stored.sha256)).toBeNull();
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('stores one copy of content put twice in a batch, and of content already stored', async () => {
    const data = randomBytes(3000);
    const before = await store.put(data);
    const batch = store.beginBatch();
    const again = await store.put(data, { batch });
    const fresh = randomBytes(3000);
    const first = await store.put(fresh, { batch });
    const second = await store.put(Readable.from([fresh]), { batch });
    await batch.commit();
    expect(again).toEqual(before);
    expect(second.sha256).toBe(first.sha256);
    expect(await collect(store.openDecompressed(first.sha256))).toEqual(fresh);
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('a batched put of a stored blob refreshes it at commit, not before', async () => {
    const data = randomBytes(900);
    const { sha256 } = await store.put(data);
    const path = store.paths.blob(sha256);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path, old, old);
    const batch = store.beginBatch();
    await store.put(data, { batch });
    // Nothing under the real name changes before commit: it is still the old copy.
    expect(statSync(path).mtimeMs).toBeLessThan(Date.now() - 3_000_000);
    await batch.commit();
    expect(await store.removeIfIdle(sha256, 60_000)).toBe(0);
    expect(await collect(store.openDecompressed(sha256))).toEqual(data);
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('commit makes a fan-out folder again when something removed it', async () => {
    const data = randomBytes(900);
    const batch = store.beginBatch();
    const { sha256 } = await store.put(data, { batch });
    rmSync(dirname(store.paths.blob(sha256)), { recursive: true, force: true });
    await batch.commit();
    expect(await collect(store.openDecompressed(sha256))).toEqual(data);
  });

  it('writes the same frames for a buffer as for a stream of the same bytes', async () => {
    const data = randomBytes(200 * 1024); // several 64 KiB frames
    const fromBuffer = await store.put(data);
    const compressed = await collect(store.openCompressed(fromBuffer.sha256));
    await store.remove(fromBuffer.sha256);
    const fromStream = await store.put(
      Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
    );
    expect(fromStream).toEqual(fromBuffer);
    expect(await collect(store.openCompressed(fromStream.sha256))).toEqual(compressed);
  });

  it('refuses a buffer over maxBytes with OutputLimitExceeded and keeps nothing', async () => {
    const batch = store.beginBatch();
    await expect(store.put(randomBytes(100), { batch, maxBytes: 99 })).rejects.toMatchObject({
      type: 'OutputLimitExceeded',
    });
    await batch.commit();
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('falls back to an fsync per path when sync -f cannot run', async () => {
    expect(await syncPaths(dataDir, [store.paths.tmp], 'runbox-no-such-sync-command')).toBe(
      'fsync',
    );
    expect(await syncPaths(dataDir, [store.paths.tmp])).toBe('syncfs');
  });
});
