import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  linkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../src/executor/tarReader.js';

/** What a reader saw of one entry, comparable between tar-stream and readTar. */
interface Seen {
  name: string;
  type: string;
  size: number;
  linkname: string;
  data: string; // hex
}

const WHOLE = 1024;

async function withReadTar(chunks: Buffer[], whole = WHOLE): Promise<Seen[]> {
  const seen: Seen[] = [];
  for await (const entry of readTar(Readable.from(chunks), whole)) {
    let data: Buffer;
    if (entry.data === null) {
      const parts: Buffer[] = [];
      for await (const part of entry.body) parts.push(part);
      data = Buffer.concat(parts);
    } else data = entry.data;
    const { name, type, size, linkname } = entry.header;
    seen.push({ name, type, size, linkname, data: data.toString('hex') });
  }
  return seen;
}

async function withTarStream(archive: Buffer): Promise<Seen[]> {
  const seen: Seen[] = [];
  const extract = tar.extract();
  Readable.from([archive]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const part of entry as AsyncIterable<Buffer>) parts.push(part);
    const h = entry.header;
    const type = h.type ?? 'file';
    const carriesData = type === 'file' || type === 'contiguous-file';
    seen.push({
      name: h.name,
      type,
      size: carriesData ? (h.size ?? 0) : 0,
      linkname: h.linkname ?? '',
      data: carriesData ? Buffer.concat(parts).toString('hex') : '',
    });
  }
  return seen;
}

/** Every split of the archive into two chunks, and into 1-byte and 511/513-byte chunks. */
function splits(archive: Buffer, step = 1): Buffer[][] {
  const out: Buffer[][] = [];
  for (let at = 0; at <= archive.length; at += step) {
    out.push([archive.subarray(0, at), archive.subarray(at)]);
  }
  for (const size of [1, 7, 511, 513]) {
    const chunks = [];
    for (let at = 0; at < archive.length; at += size) chunks.push(archive.subarray(at, at + size));
    out.push(chunks);
  }
  return out;
}

async function packWithTarStream(
  entries: { header: Partial<tar.Header> & { name: string }; data?: Buffer }[],
): Promise<Buffer> {
  const pack = tar.pack();
  for (const { header, data } of entries) {
    if (data) pack.entry(header, data);
    else pack.entry(header);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

describe('readTar', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbox-tar-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what tar-stream reads from its own pack: long and UTF-8 names, links, FIFOs, block-edge sizes, at every split', async () => {
    const longName = `outputs/${'d'.repeat(120)}/${'é'.repeat(70)}.txt`;
    const archive = await packWithTarStream([
      { header: { name: 'outputs/', type: 'directory' } },
      { header: { name: 'outputs/empty', size: 0 }, data: Buffer.alloc(0) },
      { header: { name: 'outputs/block', size: 512 }, data: randomBytes(512) },
      { header: { name: 'outputs/block+1', size: 513 }, data: randomBytes(513) },
      { header: { name: 'outputs/été 雪.txt', size: 3 }, data: Buffer.from('abc') },
      { header: { name: longName, size: 5 }, data: Buffer.from('hello') },
      // Over the whole-read size: handed out as a body.
      { header: { name: 'outputs/big', size: 3000 }, data: randomBytes(3000) },
      { header: { name: 'outputs/hard', type: 'link', linkname: 'outputs/block' } },
      { header: { name: 'outputs/soft', type: 'symlink', linkname: `../${'ü'.repeat(80)}` } },
      { header: { name: 'outputs/pipe', type: 'fifo' } },
      { header: { name: 'outputs/tty', type: 'character-device' } },
    ]);
    const expected = await withTarStream(archive);
    expect(expected.map((e) => e.name)).toContain(longName);
    expect(expected.length).toBe(11);
    for (const chunks of splits(archive, 37)) {
      expect(await withReadTar(chunks)).toEqual(expected);
    }
    // Every split point, on a smaller archive.
    const small = await packWithTarStream([
      { header: { name: 'outputs/a', size: 512 }, data: randomBytes(512) },
      { header: { name: longName, size: 0 }, data: Buffer.alloc(0) },
      { header: { name: 'outputs/b', size: 1 }, data: Buffer.from('x') },
    ]);
    const smallExpected = await withTarStream(small);
    for (const chunks of splits(small)) {
      expect(await withReadTar(chunks, 0)).toEqual(smallExpected);
      expect(await withReadTar(chunks)).toEqual(smallExpected);
    }
  });

  it('reads GNU tar archives (gnu, pax and ustar formats) with long, UTF-8 and invalid UTF-8 names as tar-stream does', async () => {
    const root = join(dir, 'gnu');
    const out = join(root, 'outputs');
    const deep = join(out, 'p'.repeat(90), 'q'.repeat(90));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'r'.repeat(60)), 'deep');
    writeFileSync(join(out, 'zéro'), '');
    writeFileSync(join(out, 'five-twelve'), randomBytes(512));
    writeFileSync(join(out, 'big'), randomBytes(5000));
    linkSync(join(out, 'five-twelve'), join(out, 'hard'));
    symlinkSync('x'.repeat(150), join(out, 'soft'));
    execFileSync('mkfifo', [join(out, 'pipe')]);
    // A name that is not UTF-8 (bytes 0xff 0xfe): written through a Buffer path.
    writeFileSync(Buffer.concat([Buffer.from(`${out}/bad-`), Buffer.from([0xff, 0xfe])]), 'bad');
    for (const format of ['gnu', 'pax', 'ustar']) {
      let archive: Buffer;
      try {
        archive = execFileSync('tar', [`--format=${format}`, '-C', root, '-cf', '-', 'outputs'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        // ustar cannot hold a 150-byte link target: GNU tar says so and writes the rest.
        const stdout = (error as { stdout?: Buffer }).stdout;
        if (format !== 'ustar' || !stdout) throw error;
        archive = stdout;
      }
      const expected = await withTarStream(archive);
      expect(expected.length).toBeGreaterThan(5);
      if (format !== 'ustar') {
        expect(expected.map((e) => e.name)).toContain(
          `outputs/${'p'.repeat(90)}/${'q'.repeat(90)}/${'r'.repeat(60)}`,
        );
        expect(expected.find((e) => e.name.startsWith('outputs/bad-'))?.name).toBe(
          'outputs/bad-\uFFFD\uFFFD',
        );
      }
      for (const chunks of splits(archive, 101)) {
        expect(await withReadTar(chunks)).toEqual(expected);
      }
    }
  });

  it('stops with an error on a damaged header or an archive cut short, and skips the rest of an unread body', async () => {
    const archive = await packWithTarStream([
      { header: { name: 'outputs/a', size: 3000 }, data: randomBytes(3000) },
      { header: { name: 'outputs/b', size: 2 }, data: Buffer.from('ok') },
    ]);
    // A body left unread: the next entry still comes.
    const names: string[] = [];
    for await (const entry of readTar(Readable.from([archive]), 100)) names.push(entry.header.name);
    expect(names).toEqual(['outputs/a', 'outputs/b']);

    const damaged = Buffer.from(archive);
    damaged[10] = damaged[10]! ^ 0x01; // a name byte: the checksum no longer matches
    await expect(withReadTar([damaged])).rejects.toThrow(/checksum/);
    await expect(withReadTar([archive.subarray(0, 700)])).rejects.toThrow(/ends inside/);
    await expect(withReadTar([archive.subarray(0, 300)])).rejects.toThrow(/ends inside a header/);
  });

  it('destroys the source when the reader stops early', async () => {
    const archive = await packWithTarStream([
      { header: { name: 'outputs/a', size: 1 }, data: Buffer.from('a') },
      { header: { name: 'outputs/b', size: 1 }, data: Buffer.from('b') },
    ]);
    const source = Readable.from([archive.subarray(0, 1024), archive.subarray(1024)]);
    for await (const entry of readTar(source, WHOLE)) {
      expect(entry.header.name).toBe('outputs/a');
      break;
    }
    expect(source.destroyed).toBe(true);
  });

  it('reads a file written by GNU tar back to its bytes', async () => {
    const root = join(dir, 'bytes');
    mkdirSync(join(root, 'outputs'), { recursive: true });
    const content = randomBytes(2048 + 17);
    writeFileSync(join(root, 'outputs', 'f'), content);
    const archive = execFileSync('tar', ['-C', root, '-cf', '-', 'outputs']);
    const seen = await withReadTar([archive], 100);
    expect(seen.find((e) => e.name === 'outputs/f')?.data).toBe(content.toString('hex'));
    expect(readFileSync(join(root, 'outputs', 'f')).equals(content)).toBe(true);
  });
});
