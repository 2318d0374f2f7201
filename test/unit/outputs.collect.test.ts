import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { collectOutputs } from '../../src/executor/collectOutputs.js';
import type { BlobStore } from '../../src/storage/BlobStore.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';

type Entry =
  | { name: string; content: Buffer }
  | { name: string; link: string }
  | { name: string; symlink: string };

/** A stand-in container whose /outputs archive holds these entries, in this order. */
function containerWith(entries: Entry[]): Docker.Container {
  return {
    getArchive: async () => {
      const pack = tar.pack();
      for (const e of entries) {
        if ('content' in e)
          pack.entry({ name: `outputs/${e.name}`, size: e.content.length }, e.content);
        else if ('link' in e)
          pack.entry({ name: `outputs/${e.name}`, type: 'link', linkname: `outputs/${e.link}` });
        else pack.entry({ name: `outputs/${e.name}`, type: 'symlink', linkname: e.symlink });
      }
      pack.finalize();
      return Readable.from(pack as AsyncIterable<Buffer>);
    },
  } as unknown as Docker.Container;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const limits = { files: 100_000, bytes: 1 << 30 };

describe('collectOutputs with many small files stored at once', () => {
  let dataDir: string;
  let store: FileBlobStore;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-collect-'));
    store = await createFileBlobStore(loadConfig({ overrides: { dataDir } }));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps archive order, stores equal contents once, and resolves hard links and symlinks', async () => {
    const files = Array.from({ length: 300 }, (_, i) => ({
      name: `d/f${i}`,
      // Every 10th file has the same content: stored once, named by each.
      content: i % 10 === 0 ? Buffer.from('same\n') : randomBytes(1 + (i % 900)),
    }));
    const entries: Entry[] = [
      ...files,
      { name: 'hard', link: 'd/f7' },
      { name: 'soft', symlink: 'd/f8' },
      { name: 'big', content: randomBytes(300 * 1024) },
    ];
    const batch = store.beginBatch();
    const got = await collectOutputs(containerWith(entries), store, limits, { batch });
    await batch.commit();
    expect(got.error).toBeNull();
    expect(got.outputs.map((o) => o.path)).toEqual(entries.map((e) => e.name));
    for (const [i, f] of files.entries()) {
      expect(got.outputs[i]).toMatchObject({
        type: 'file',
        size: f.content.length,
        sha256: sha(f.content),
      });
    }
    expect(got.outputs[300]).toMatchObject({
      path: 'hard',
      type: 'file',
      sha256: sha(files[7]!.content),
    });
    expect(got.outputs[301]).toMatchObject({ path: 'soft', type: 'symlink', link_target: 'd/f8' });
    for (const o of got.outputs.filter((x) => x.type === 'file')) {
      expect(await store.stat(o.sha256!)).toMatchObject({ size: o.size });
    }
  });

  it('a put that fails stops collection there: the files before it are kept, nothing after, no unhandled rejection', async () => {
    const files = Array.from({ length: 60 }, (_, i) => ({
      name: `f${i}`,
      content: Buffer.from(`file ${i}\n`),
    }));
    const failing = files[20]!.content;
    const flaky: BlobStore = Object.create(store, {
      put: {
        value: async (source: Buffer | Readable, options?: object) => {
          if (Buffer.isBuffer(source) && source.equals(failing)) {
            // Later puts finish first: the failure is not the last thing to settle.
            await new Promise((r) => setTimeout(r, 400));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
              code: 'ENOSPC',
              syscall: 'write',
            });
          }
          return store.put(source, options);
        },
      },
    }) as BlobStore;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const entries: Entry[] = [...files, { name: 'link-to-failed', link: 'f20' }];
      const got = await collectOutputs(containerWith(entries), flaky, limits);
      await new Promise((r) => setTimeout(r, 50));
      expect(got.outputs.map((o) => o.path)).toEqual(files.slice(0, 20).map((f) => f.name));
      expect(got.error).toMatchObject({ type: 'Internal' });
      expect(got.error?.message).toMatch(/storing outputs in the blob store failed: ENOSPC/);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops at limits.outputFiles with what came before it stored', async () => {
    const files = Array.from({ length: 40 }, (_, i) => ({
      name: `f${i}`,
      content: randomBytes(100),
    }));
    const got = await collectOutputs(containerWith(files), store, { files: 25, bytes: 1 << 30 });
    expect(got.outputs).toHaveLength(25);
    expect(got.error).toMatchObject({ type: 'OutputLimitExceeded' });
  });
  it("names the job's own limit field and how to raise it, as the running watchdog does", async () => {
    const files = [
      { name: 'a', content: randomBytes(600) },
      { name: 'b', content: randomBytes(600) },
    ];
    const byCount = await collectOutputs(containerWith(files), store, { files: 1, bytes: 1 << 30 });
    expect(byCount.error).toMatchObject({
      type: 'OutputLimitExceeded',
      field: 'limits.output_files',
    });
    expect(byCount.error?.message).toMatch(/limits\.output_files.*up to the server's ceiling/);
    const byBytes = await collectOutputs(containerWith(files), store, { files: 10, bytes: 1000 });
    expect(byBytes.error).toMatchObject({
      type: 'OutputLimitExceeded',
      field: 'limits.output_bytes',
    });
    expect(byBytes.error?.message).toMatch(/limits\.output_bytes.*up to the server's ceiling/);
  });
  it('counts every name of a hard-linked file toward limits.outputBytes, as a copy would', async () => {
    // One file of 900 bytes and nine more names for it: 9,000 bytes in the manifest
    // and in a download, so a 1,000-byte limit stops at the first link.
    const entries: Entry[] = [
      { name: 'f', content: randomBytes(900) },
      ...Array.from({ length: 9 }, (_, i) => ({ name: `l${i}`, link: 'f' })),
    ];
    const got = await collectOutputs(containerWith(entries), store, { files: 100, bytes: 1000 });
    expect(got.outputs.map((o) => o.path)).toEqual(['f']);
    expect(got.error).toMatchObject({ type: 'OutputLimitExceeded' });
    expect(got.error?.message).toContain('stopped at l0 (900 bytes)');
    const all = await collectOutputs(containerWith(entries), store, { files: 100, bytes: 9000 });
    expect(all.error).toBeNull();
    expect(all.outputs).toHaveLength(10);
  });
});
