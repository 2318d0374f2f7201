import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';

/**
 * Issue 4, "frames from both codecs decode with the zstd CLI and with each other".
 * storage.zstd.test.ts proves it frame by frame; this proves it for whole stored blobs:
 * a data dir written with one codec is served by a runbox using the other, range reads
 * included, and every blob file is a stream the zstd CLI decodes.
 */
const MiB = 1024 * 1024;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(
  source: AsyncIterable<unknown> | Promise<AsyncIterable<unknown>>,
): Promise<Buffer> {
  const stream = await source;
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('blobs across codecs', () => {
  let dataDir: string;
  const stores = {} as Record<'native' | 'js', FileBlobStore>;
  // 3 MiB + a bit: random and repetitive halves, so frames of both kinds of blocks.
  const data = Buffer.concat([
    randomBytes(1536 * 1024),
    Buffer.alloc(1536 * 1024 + 999, 'runbox '),
  ]);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-codecs-'));
    for (const codec of ['native', 'js'] as const) {
      stores[codec] = await createFileBlobStore(
        loadConfig({ env: {}, overrides: { dataDir, zstd: { codec } } }),
      );
      expect(stores[codec].codec.name).toBe(codec);
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  for (const [writer, reader] of [
    ['native', 'js'],
    ['js', 'native'],
  ] as const) {
    it(`a blob the ${writer} codec stored is read whole and by range through the ${reader} codec, and by zstd -d`, async () => {
      // Different content per writer, so each test stores its own blob.
      const content = Buffer.concat([data, Buffer.from(writer)]);
      const stored = await stores[writer].put(Readable.from([content]));
      const other = stores[reader];
      expect(await other.stat(stored.sha256)).toEqual(stored);
      expect(sha(await collect(other.openDecompressed(stored.sha256)))).toBe(sha(content));
      const range = { start: MiB - 10, end: 2 * MiB + 10 };
      expect(
        (await collect(other.openDecompressed(stored.sha256, range))).equals(
          content.subarray(range.start, range.end + 1),
        ),
      ).toBe(true);
      const file = readFileSync(other.paths.blob(stored.sha256));
      expect(
        sha(
          execFileSync('/usr/bin/zstd', ['-d', '-c', '-q'], { input: file, maxBuffer: 64 * MiB }),
        ),
      ).toBe(sha(content));
    });
  }
});
