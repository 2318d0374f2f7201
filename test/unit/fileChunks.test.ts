import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  fstatSync,
  mkdtempSync,
  openSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileChunks } from '../../src/executor/fileChunks.js';

const KiB = 1024;

describe('FileChunks: a host file read into buffers the consumer gives back', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbox-chunks-'));
    file = join(dir, 'f é');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Every chunk copied out as it comes, then `after` (give it back, or not). */
  async function readAll(
    reader: FileChunks,
    after: (chunk: Buffer) => void = (chunk) => reader.recycle(chunk),
  ): Promise<{ data: Buffer; memories: Set<ArrayBufferLike>; chunks: number }> {
    const parts: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let chunks = 0;
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      chunks += 1;
      memories.add(chunk.buffer);
      parts.push(Buffer.from(chunk));
      after(chunk);
    }
    return { data: Buffer.concat(parts), memories, chunks };
  }

  it('reads the file to the size it had when opened, reusing the chunks given back, and closes it', async () => {
    const content = randomBytes(5 * 256 * KiB + 17);
    writeFileSync(file, content);
    const fd = openSync(file, 'r');
    appendFileSync(file, 'written after the open'); // not read: past the size
    const { data, memories, chunks } = await readAll(new FileChunks(fd, content.length, 256 * KiB));
    expect(data.equals(content)).toBe(true);
    expect(chunks).toBe(6);
    // One chunk read ahead while the consumer holds the other: two buffers for six chunks.
    expect(memories.size).toBe(2);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('a chunk not given back, or given back cut or copied, is never reused', async () => {
    const content = randomBytes(8 * 64 * KiB);
    writeFileSync(file, content);
    const reader = new FileChunks(openSync(file, 'r'), content.length, 64 * KiB);
    const order: ArrayBufferLike[] = [];
    const notBack = new Set<ArrayBufferLike>();
    const { data } = await readAll(reader, (chunk) => {
      expect(notBack.has(chunk.buffer), `chunk ${order.length} reuses memory not given back`).toBe(
        false,
      );
      order.push(chunk.buffer);
      const kind = order.length % 3;
      if (kind === 0) reader.recycle(chunk);
      else {
        notBack.add(chunk.buffer);
        reader.recycle(kind === 1 ? chunk.subarray(1) : Buffer.from(chunk));
      }
    });
    expect(data.equals(content)).toBe(true);
    expect(order.length).toBe(8);
    expect(new Set(order).size).toBeLessThan(8); // the chunks given back whole were reused
  });

  it('a file cut shorter after the open ends early, without an error', async () => {
    writeFileSync(file, randomBytes(300 * KiB));
    const fd = openSync(file, 'r');
    truncateSync(file, 100 * KiB);
    const { data } = await readAll(new FileChunks(fd, 300 * KiB, 64 * KiB));
    expect(data.length).toBe(100 * KiB);
  });

  it('destroyed mid-file, with a read in flight: the descriptor is closed after it', async () => {
    writeFileSync(file, randomBytes(4 * 64 * KiB));
    const fd = openSync(file, 'r');
    const reader = new FileChunks(fd, 4 * 64 * KiB, 64 * KiB);
    await new Promise<void>((resolve) => reader.once('readable', () => resolve()));
    reader.read(); // takes one chunk; the next read is asked for
    const closed = new Promise<void>((resolve) => reader.once('close', () => resolve()));
    reader.destroy();
    await closed;
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    // An empty file: one end, no chunk.
    writeFileSync(file, '');
    const empty = await readAll(new FileChunks(openSync(file, 'r'), 0, 64 * KiB));
    expect(empty.chunks).toBe(0);
  });
});
