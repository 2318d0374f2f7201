import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { OutputEntry } from '../../src/contract/resultSchema.js';
import type { BlobStore } from '../../src/storage/BlobStore.js';
import {
  createFileBlobStore,
  FrameDecompressor,
  type FileBlobStore,
} from '../../src/storage/index.js';
import { createTarZstStream } from '../../src/storage/tarZst.js';
import { pipeThrough } from '../helpers/zstdCli.js';

const MiB = 1024 * 1024;
const ZSTD = '/usr/bin/zstd';

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

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** A bash pipeline (pipefail) over `input` on stdin: its stdout, or a rejection on non-zero. */
const sh = (command: string, input: Buffer) =>
  pipeThrough('bash', ['-e', '-o', 'pipefail', '-c', command], input);

async function collect(
  source: AsyncIterable<unknown> | Promise<AsyncIterable<unknown>>,
): Promise<Buffer> {
  const stream = await source;
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

interface Fixture {
  path: string;
  data?: Buffer;
  link?: string;
}

const LONG_DIR = 'a-folder-name-long-enough/'.repeat(6); // 156 bytes: needs a pax path
const FIXTURES: Fixture[] = [
  { path: 'big/mixed.bin', data: mixedBytes(3 * MiB + 517) }, // several frames, unaligned
  { path: 'exact-block.txt', data: Buffer.alloc(1024, 'x') }, // no tar padding
  { path: 'empty', data: Buffer.alloc(0) },
  { path: `${LONG_DIR}deep.txt`, data: Buffer.from('deep\n') },
  { path: 'données/résumé-日本語.txt', data: Buffer.from('naïve café ☕\n') },
  { path: 'passwd-link', link: '/etc/passwd' },
  { path: 'long-link', link: `../${LONG_DIR}deep.txt` },
  { path: 'copy/of/mixed.bin' }, // same content as big/mixed.bin: one blob, two entries
];

async function storeFixtures(store: BlobStore): Promise<OutputEntry[]> {
  const entries: OutputEntry[] = [];
  for (const fixture of FIXTURES) {
    if (fixture.link !== undefined) {
      entries.push({
        path: fixture.path,
        type: 'symlink',
        size: 0,
        sha256: null,
        compressed_size: null,
        link_target: fixture.link,
      });
      continue;
    }
    const data = fixture.data ?? FIXTURES[0]!.data!;
    const stored = await store.put(Readable.from([data]));
    entries.push({
      path: fixture.path,
      type: 'file',
      size: stored.size,
      sha256: stored.sha256,
      compressed_size: stored.compressedSize,
      link_target: null,
    });
  }
  return entries;
}

const contentOf = (f: Fixture) => f.data ?? FIXTURES[0]!.data!;

describe('outputs.tar.zst', () => {
  const dirs: string[] = [];
  const stores: Record<'native' | 'js', FileBlobStore> = {} as never;
  const manifests: Record<'native' | 'js', OutputEntry[]> = {} as never;

  beforeAll(async () => {
    for (const codec of ['native', 'js'] as const) {
      const dataDir = mkdtempSync(join(tmpdir(), `runbox-tarzst-${codec}-`));
      dirs.push(dataDir);
      stores[codec] = await createFileBlobStore(
        loadConfig({ env: {}, overrides: { dataDir, zstd: { codec } } }),
      );
      expect(stores[codec].codec.name).toBe(codec);
      manifests[codec] = await storeFixtures(stores[codec]);
    }
  });

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const codec of ['native', 'js'] as const) {
    it(`(${codec}) is one zstd stream that zstd -d | tar -x unpacks to the same files and links`, async () => {
      const archive = await collect(createTarZstStream(stores[codec], manifests[codec]));
      const listing = (await sh(`${ZSTD} -d -q -c | tar -t`, archive)).toString().split('\n');
      expect(listing.filter(Boolean)).toEqual(FIXTURES.map((f) => f.path));

      const into = mkdtempSync(join(tmpdir(), 'runbox-tarzst-x-'));
      dirs.push(into);
      const file = join(into, 'outputs.tar.zst');
      writeFileSync(file, archive);
      await sh(`${ZSTD} -d -q -c ${file} | tar -x -C ${into}`, Buffer.alloc(0));
      for (const fixture of FIXTURES) {
        const at = join(into, fixture.path);
        if (fixture.link !== undefined) expect(readlinkSync(at)).toBe(fixture.link);
        else expect(sha(readFileSync(at)), fixture.path).toBe(sha(contentOf(fixture)));
      }
    });

    it(`(${codec}) reads back with tar-stream through runbox's own decoder, entry for entry`, async () => {
      const store = stores[codec];
      const extract = tar.extract();
      const seen: Array<{ name: string; type: string; linkname: string | null; sha: string }> = [];
      const reading = (async () => {
        for await (const entry of extract) {
          const body = await collect(entry);
          const { name, type, linkname } = entry.header;
          seen.push({ name, type: type ?? 'file', linkname: linkname ?? null, sha: sha(body) });
        }
      })();
      await pipeline(
        createTarZstStream(store, manifests[codec]),
        new FrameDecompressor({ codec: store.codec }),
        extract,
      );
      await reading;
      expect(seen).toEqual(
        FIXTURES.map((f) => ({
          name: f.path,
          type: f.link !== undefined ? 'symlink' : 'file',
          linkname: f.link ?? null,
          sha: sha(f.link !== undefined ? Buffer.alloc(0) : contentOf(f)),
        })),
      );
    });
  }

  it('passes every stored frame through as it is and never decodes a blob', async () => {
    const store = stores.native;
    let decodes = 0;
    const spy: BlobStore = {
      put: (source, options) => store.put(source, options),
      beginBatch: () => store.beginBatch(),
      stat: (sha256) => store.stat(sha256),
      openCompressed: (sha256) => store.openCompressed(sha256),
      openDecompressed: (sha256, range) => {
        decodes += 1;
        return store.openDecompressed(sha256, range);
      },
      compressor: () => store.compressor(),
      remove: (sha256) => store.remove(sha256),
      kind: store.kind,
      list: () => store.list(),
      removeIfIdle: (sha256, graceMs) => store.removeIfIdle(sha256, graceMs),
      close: () => store.close(),
    };
    const archive = await collect(createTarZstStream(spy, manifests.native));
    expect(decodes).toBe(0);
    const big = manifests.native[0]!;
    const stored = await collect(store.openCompressed(big.sha256!));
    expect(stored.length).toBe(big.compressed_size);
    const first = archive.indexOf(stored);
    expect(first).toBeGreaterThan(0);
    // Both entries of the shared blob carry the same frames, byte for byte.
    expect(archive.indexOf(stored, first + stored.length)).toBeGreaterThan(first);
    // Headers and padding add little: a few small frames on top of the stored blobs.
    const blobBytes = manifests.native.reduce((n, e) => n + (e.compressed_size ?? 0), 0);
    expect(archive.length - blobBytes).toBeLessThan(4096);
  });

  it('many small files, read ahead concurrently, come out in manifest order with their own bytes', async () => {
    const store = stores.native;
    const entries: OutputEntry[] = [];
    for (let i = 0; i < 300; i++) {
      // Every 50th is larger than the read-ahead size and streams instead.
      const data = i % 50 === 7 ? randomBytes(100 * 1024) : Buffer.from(`small file ${i}\n`);
      const stored = await store.put(Readable.from([data]));
      entries.push({
        path: `many/${i}.txt`,
        type: 'file',
        size: stored.size,
        sha256: stored.sha256,
        compressed_size: stored.compressedSize,
        link_target: null,
      });
    }
    const extract = tar.extract();
    const seen: Array<{ path: string; sha256: string }> = [];
    const reading = (async () => {
      for await (const entry of extract) {
        seen.push({ path: entry.header.name, sha256: sha(await collect(entry)) });
      }
    })();
    await pipeline(
      createTarZstStream(store, entries),
      new FrameDecompressor({ codec: store.codec }),
      extract,
    );
    await reading;
    expect(seen).toEqual(entries.map((e) => ({ path: e.path, sha256: e.sha256 })));
  });

  it('an empty manifest is a valid empty archive', async () => {
    const archive = await collect(createTarZstStream(stores.native, []));
    const tarBytes = await sh(`${ZSTD} -d -q -c`, archive);
    expect(tarBytes.equals(Buffer.alloc(1024))).toBe(true);
    expect((await sh(`${ZSTD} -d -q -c | tar -t`, archive)).toString()).toBe('');
  });

  it('a blob whose size differs from its manifest entry ends the stream with an error, not a corrupt tar', async () => {
    const wrong = manifests.native.map((e, i) => (i === 0 ? { ...e, size: e.size + 1 } : e));
    await expect(collect(createTarZstStream(stores.native, wrong))).rejects.toThrow(
      /holds 3146245 bytes, but the manifest says 3146246 bytes/,
    );
  });

  it('a missing blob ends the stream with NotFound', async () => {
    const missing = { ...manifests.native[1]!, sha256: 'f'.repeat(64) };
    await expect(collect(createTarZstStream(stores.native, [missing]))).rejects.toMatchObject({
      type: 'NotFound',
    });
  });
});
