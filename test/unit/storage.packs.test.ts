import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/maintenance/blobGc.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';

/*
 * The fs store's packs (src/storage/fs/packs.ts): a batch's small blobs in one file.
 * What every store must do is in test/conformance/blobStore.suite.ts; this checks what
 * only packs have: one file per batch, the index rebuilt from the file, packs another
 * process wrote, gc of whole packs, and a crash (kill -9) in the middle of commits.
 */

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const zstd = { codec: 'auto', level: 3, frameBytes: 64 * 1024 } as const;
const packed = { packSmallBlobs: true };

async function collect(source: Readable | Promise<Readable>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await source) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runbox-packs-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const packFiles = (store: FileBlobStore) => readdirSync(store.packs!.dir);
/** Blob files outside packs/ and tmp/. */
const looseFiles = (store: FileBlobStore) =>
  readdirSync(store.paths.root)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => readdirSync(join(store.paths.root, d)));

async function putBatch(store: FileBlobStore, blobs: Buffer[]): Promise<void> {
  const batch = store.beginBatch();
  await Promise.all(blobs.map((data) => store.put(data, { batch })));
  await batch.commit();
}

describe('fs blob packs: a batch of small blobs in one file', () => {
  it('one pack per batch, no file per blob, no temp file; a new store reads it from its trailer', async () => {
    const dir = dataDir();
    const store = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    // Over the 1 MiB the writer holds in memory, so the pack is written in several parts
    // (one write in flight while blobs arrive), and its index outgrows its first buffer.
    const blobs = Array.from({ length: 600 }, (_, i) => randomBytes(i === 7 ? 0 : 9000));
    await putBatch(store, blobs);
    expect(packFiles(store)).toHaveLength(1);
    expect(looseFiles(store)).toEqual([]);
    expect(readdirSync(store.paths.tmp)).toEqual([]);
    const reopened = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    for (const data of blobs) {
      expect((await collect(reopened.openDecompressed(sha(data)))).equals(data)).toBe(true);
    }
    expect(await reopened.usage()).toEqual(await store.usage());
    expect((await reopened.usage()).blobs).toBe(600);
  });

  it('a streamed put and an unbatched put still make their own files', async () => {
    const store = await createFileBlobStore({ dataDir: dataDir(), zstd }, packed);
    const batch = store.beginBatch();
    const streamed = randomBytes(2000);
    await store.put(Readable.from([streamed]), { batch });
    await batch.commit();
    await store.put(randomBytes(10));
    expect(looseFiles(store)).toHaveLength(2);
    expect(packFiles(store)).toEqual([]);
  });

  it('a put that arrives after its batch was settled is refused, not dropped', async () => {
    const store = await createFileBlobStore({ dataDir: dataDir(), zstd }, packed);
    const batch = store.beginBatch();
    await store.put(randomBytes(10), { batch });
    await batch.commit();
    await expect(store.put(randomBytes(10), { batch })).rejects.toMatchObject({
      type: 'Internal',
    });
    const other = store.beginBatch();
    await store.put(randomBytes(10), { batch: other });
    await other.discard();
    await expect(store.put(randomBytes(10), { batch: other })).rejects.toMatchObject({
      type: 'Internal',
    });
    expect(packFiles(store)).toHaveLength(1);
    expect(readdirSync(store.paths.tmp)).toEqual([]);
  });

  it('finds a pack another process wrote after this one read the folder', async () => {
    const dir = dataDir();
    const reader = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    const writer = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    expect(await reader.usage()).toEqual({ blobs: 0, compressedBytes: 0 });
    const data = Buffer.from('written by the other process: é\u0000\xff');
    await putBatch(writer, [data, randomBytes(50)]);
    expect((await collect(reader.openDecompressed(sha(data)))).equals(data)).toBe(true);
    expect((await reader.usage()).blobs).toBe(2);
  });

  it('gc unlinks a pack once all its blobs are gone, and a refresh meanwhile keeps it', async () => {
    const store = await createFileBlobStore({ dataDir: dataDir(), zstd }, packed);
    const [a, b, c] = [randomBytes(100), randomBytes(200), randomBytes(300)];
    await putBatch(store, [a!, b!, c!]);
    const [pack] = packFiles(store);
    const path = join(store.packs!.dir, pack!);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path, old, old);
    expect(await store.removeIfIdle(sha(a!), 60_000)).toBeGreaterThan(0);
    // The mark is kept beside the pack: a later process (runbox gc, a restart) sees it.
    const later = await createFileBlobStore({ dataDir: store.paths.root + '/..', zstd }, packed);
    expect(await later.stat(sha(a!))).toBeNull();
    expect((await later.stat(sha(b!)))?.size).toBe(200);
    // Another job puts b again: the pack is refreshed, the mark on a is forgotten
    // (a is visible again, it was never deleted) and the pack stays.
    await putBatch(store, [b!]);
    expect(await store.removeIfIdle(sha(b!), 60_000)).toBe(0);
    expect((await store.stat(sha(a!)))?.size).toBe(100);
    const afterRefresh = await createFileBlobStore(
      { dataDir: store.paths.root + '/..', zstd },
      packed,
    );
    expect((await afterRefresh.stat(sha(a!)))?.size).toBe(100);
    const older = new Date(old.getTime() - 1000);
    utimesSync(path, older, older);
    const report = await collectGarbage({ store, referenced: new Set(), olderThanMs: 60_000 });
    expect(report.removedBlobs).toBe(3);
    expect(packFiles(store)).toEqual([]); // the pack and its .dead file
    for (const data of [a!, b!, c!]) expect(await store.stat(sha(data))).toBeNull();
    expect(await store.usage()).toEqual({ blobs: 0, compressedBytes: 0 });
  });

  it('a pack with a damaged trailer is skipped; the others still read', async () => {
    const dir = dataDir();
    const store = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    const good = randomBytes(100);
    const bad = randomBytes(100);
    await putBatch(store, [bad]);
    const [damaged] = packFiles(store);
    await putBatch(store, [good]);
    const path = join(store.packs!.dir, damaged!);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1); // index checksum
    writeFileSync(path, bytes);
    const reopened = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    expect((await collect(reopened.openDecompressed(sha(good)))).equals(good)).toBe(true);
    await expect(reopened.openDecompressed(sha(bad))).rejects.toMatchObject({ type: 'NotFound' });
    expect([...reopened.packs!.unreadable.keys()]).toEqual([path]);
  });

  it('a batch given up before commit (a crash) leaves no visible blob; the sweep removes its temp file', async () => {
    const dir = dataDir();
    const store = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    const blobs = Array.from({ length: 700 }, () => randomBytes(8000)); // > 1 MiB: written out
    const batch = store.beginBatch();
    for (const data of blobs) await store.put(data, { batch });
    expect(readdirSync(store.paths.tmp)).toHaveLength(1);
    const other = await createFileBlobStore({ dataDir: dir, zstd }, packed);
    expect(await other.stat(sha(blobs[0]!))).toBeNull();
    expect(await other.usage()).toEqual({ blobs: 0, compressedBytes: 0 });
    const swept = await other.sweepTempFiles({ olderThanMs: 0, now: Date.now() + 1000 });
    expect(swept.removedFiles).toBe(1);
  });

  it(
    'kill -9 in the middle of commits: every committed batch reads whole, nothing is half there',
    { timeout: 120_000 },
    async () => {
      const dir = dataDir();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'packWriterChild.ts'), dir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let committed = -1;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', () => resolve());
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const lines = out.trim().split('\n');
          committed = Number(lines[lines.length - 1]);
          // Killed while it is writing and committing more: somewhere inside a batch.
          if (committed >= 3) setTimeout(() => child.kill('SIGKILL'), Math.random() * 80);
        });
      });
      expect(committed).toBeGreaterThanOrEqual(3);
      const store = await createFileBlobStore({ dataDir: dir, zstd }, packed);
      // createFileBlobStore swept the dead child's temp files.
      expect(readdirSync(store.paths.tmp)).toEqual([]);
      for (let b = 0; b <= committed; b++) {
        for (let i = 0; i < 200; i++) {
          const data = Buffer.from(`batch ${b} blob ${i} `.repeat(i + 1));
          expect((await collect(store.openDecompressed(sha(data)))).equals(data)).toBe(true);
        }
      }
      // Whatever is listed, committed or not yet reported, is whole and under its sha256.
      let listed = 0;
      for await (const entry of store.list()) {
        listed += 1;
        expect(sha(await collect(store.openDecompressed(entry.sha256)))).toBe(entry.sha256);
      }
      expect(listed).toBeGreaterThanOrEqual((committed + 1) * 200);
      expect(statSync(store.packs!.dir).isDirectory()).toBe(true);
    },
  );
});
