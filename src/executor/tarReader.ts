import { RunboxError } from '../errors/index.js';

/*
 * A tar reader for the archive the engine sends of /outputs (GET .../archive): headers
 * parsed over the incoming chunks, small files handed out whole, no stream or promise
 * per entry. tar-stream builds a stream per entry and is read through async iteration
 * twice per file (entries, then each entry's bytes), which for thousands of small
 * outputs cost more than storing them (issue 17: 9,000 files of 0.9 KiB).
 *
 * Reads what tar-stream's extract reads, with the same results: ustar (name prefix),
 * GNU (`ustar  ` magic, 'L'/'K' long names), pax ('x' records: path, linkpath, size;
 * 'g' records merged into the next 'x' ones, as tar-stream does), base-256 sizes.
 * Names are decoded as UTF-8 (bytes that are not become U+FFFD, as tar-stream's). An
 * entry type this reader does not know is reported as 'file' with its data, as
 * collectOutputs treats tar-stream's null type. A header whose checksum is wrong stops
 * the read with an error; a zero block ends nothing by itself (it is skipped, as
 * tar-stream skips it) and the end of the source ends the archive.
 */

export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  size: number;
  /** Hard and symbolic links' target; '' for others. */
  linkname: string;
}

/**
 * One entry. `data` is the whole content when the entry has at most `wholeBytes` bytes;
 * otherwise `body` yields it and must be read to its end (or the reader dropped) before
 * the next entry is asked for.
 */
export type TarEntry =
  | { header: TarHeader; data: Buffer; body: null }
  | { header: TarHeader; data: null; body: AsyncGenerator<Buffer> };

/** Long-name and pax records larger than this are refused (tar-stream's bound). */
const MAX_META_BYTES = 4 * 1024 * 1024;
const BLOCK = 512;
const EMPTY = Buffer.alloc(0);

const TYPES: Record<number, TarEntryType | 'pax' | 'pax-global' | 'long-name' | 'long-link'> = {
  0: 'file',
  0x30: 'file',
  0x31: 'link',
  0x32: 'symlink',
  0x33: 'character-device',
  0x34: 'block-device',
  0x35: 'directory',
  0x36: 'fifo',
  0x37: 'contiguous-file',
  0x78: 'pax', // 'x'
  0x67: 'pax-global', // 'g'
  0x4c: 'long-name', // 'L'
  0x4e: 'long-name', // 'N' (old GNU), as tar-stream reads it
  0x4b: 'long-link', // 'K'
};

function tarError(message: string): RunboxError {
  return new RunboxError('Internal', `reading the outputs archive: ${message}`, {
    field: 'outputs',
  });
}

/** Bytes up to the first NUL within [start, start + length), as UTF-8. */
function cString(block: Buffer, start: number, length: number): string {
  let end = start;
  const limit = start + length;
  while (end < limit && block[end] !== 0) end++;
  return block.toString('utf8', start, end);
}

/** An octal or base-256 number field, read as tar-stream reads it. */
function numberField(block: Buffer, start: number, length: number): number {
  if (block[start]! & 0x80) {
    // base-256: 0x80 positive, 0xff negative (two's complement); others are invalid.
    const positive = block[start] === 0x80;
    if (!positive && block[start] !== 0xff) return NaN;
    let sum = 0;
    for (let i = start + 1; i < start + length; i++) {
      sum = sum * 256 + (positive ? block[i]! : 0xff - block[i]!);
    }
    return positive ? sum : -sum;
  }
  let at = start;
  const limit = start + length;
  while (at < limit && block[at] === 0x20) at++;
  let end = at;
  while (end < limit && block[end] !== 0x20) end++;
  while (at < end && block[at] === 0) at++;
  if (at === end) return 0;
  return parseInt(block.toString('latin1', at, end), 8);
}

function checksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

const USTAR = Buffer.from('ustar\0', 'latin1');
const GNU = Buffer.from('ustar  \0', 'latin1');

/** pax records ("<len> <key>=<value>\n"), decoded as tar-stream's decodePax does. */
function paxRecords(data: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    let space = at;
    while (space < data.length && data[space] !== 0x20) space++;
    const length = parseInt(data.toString('utf8', at, space), 10);
    if (!length) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq === -1) break;
    result[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return result;
}

/** Chunks received and not yet consumed, read from the front. */
class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Exactly n bytes (n <= length), copied only when they span chunks. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - done, chunk.length - this.head);
      chunk.copy(out, done, this.head, this.head + count);
      done += count;
      this.advance(count);
    }
    return out;
  }

  /** Up to n bytes from the first chunk, not copied. */
  takeSome(n: number): Buffer {
    const first = this.chunks[0]!;
    const count = Math.min(n, first.length - this.head);
    const out = first.subarray(this.head, this.head + count);
    this.advance(count);
    return out;
  }

  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const count = Math.min(left, this.chunks[0]!.length - this.head);
      this.advance(count);
      left -= count;
    }
  }

  private advance(n: number): void {
    this.head += n;
    this.length -= n;
    if (this.head === this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}

/**
 * Entries of the tar archive `source` yields, in order. Files up to `wholeBytes` come
 * with their data whole; larger ones with a body to read. Breaking out of the loop
 * returns the source's iterator (which destroys a Node stream).
 */
export async function* readTar(
  source: AsyncIterable<Buffer | Uint8Array>,
  wholeBytes: number,
): AsyncGenerator<TarEntry> {
  const input = source[Symbol.asyncIterator]();
  const queue = new ChunkQueue();
  let ended = false;
  /** Reads from the source until `n` bytes are queued; false if it ended first. */
  const fill = async (n: number): Promise<boolean> => {
    while (queue.length < n) {
      if (ended) return false;
      const next = await input.next();
      if (next.done) {
        ended = true;
        return false;
      }
      const value = next.value;
      queue.push(
        Buffer.isBuffer(value)
          ? value
          : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      );
    }
    return true;
  };
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> | null = null;
  try {
    for (;;) {
      if (!(await fill(BLOCK))) {
        if (queue.length > 0) throw tarError('it ends inside a header');
        return;
      }
      const block = queue.take(BLOCK);
      const sum = checksum(block);
      if (sum === 8 * 0x20) continue; // a zero block
      if (sum !== numberField(block, 148, 8)) throw tarError('a header checksum does not match');
      let name = cString(block, 0, 100);
      let linkname = cString(block, 157, 100);
      let size = numberField(block, 124, 12);
      const flag = TYPES[block[156]!];
      if (block.compare(USTAR, 0, 6, 257, 263) === 0) {
        if (block[345] !== 0) name = `${cString(block, 345, 155)}/${name}`;
      } else if (block.compare(GNU, 0, 8, 257, 265) !== 0) {
        throw tarError('a header is neither ustar nor GNU');
      }
      if (flag === 'pax' || flag === 'pax-global' || flag === 'long-name' || flag === 'long-link') {
        if (!(size >= 0) || size > MAX_META_BYTES)
          throw tarError(`a ${flag} record of ${size} bytes`);
        const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
        if (!(await fill(padded))) throw tarError('it ends inside a header record');
        const data = queue.take(size);
        queue.skip(padded - size);
        if (flag === 'pax') pax = { ...paxGlobal, ...paxRecords(data) };
        else if (flag === 'pax-global') paxGlobal = paxRecords(data);
        else {
          let end = 0;
          while (end < data.length && data[end] !== 0) end++;
          const text = data.toString('utf8', 0, end);
          if (flag === 'long-name') longName = text;
          else longLink = text;
        }
        continue;
      }
      let type: TarEntryType = flag ?? 'file';
      if (longName !== null) name = longName;
      if (longLink !== null) linkname = longLink;
      if (pax) {
        if (pax.path) name = pax.path;
        if (pax.linkpath) linkname = pax.linkpath;
        if (pax.size) size = parseInt(pax.size, 10);
      }
      longName = null;
      longLink = null;
      pax = null;
      // Old tars mark a folder by a trailing slash on a plain file entry.
      if (type === 'file' && (block[156] === 0 || block[156] === 0x30) && name.endsWith('/')) {
        type = 'directory';
      }
      if (!(size >= 0) || !Number.isSafeInteger(size)) throw tarError(`an entry of size ${size}`);
      // Links, folders, FIFOs and devices carry no data whatever their size field says.
      if (type !== 'file' && type !== 'contiguous-file') size = 0;
      const header: TarHeader = { name, type, size, linkname };
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (size <= wholeBytes) {
        if (!(await fill(size + padding))) throw tarError(`it ends inside ${name}`);
        const data = queue.take(size);
        queue.skip(padding);
        yield { header, data, body: null };
        continue;
      }
      let left = size;
      let reading = true;
      const body = async function* (): AsyncGenerator<Buffer> {
        while (left > 0) {
          if (queue.length === 0 && !(await fill(1))) throw tarError(`it ends inside ${name}`);
          const part = queue.takeSome(left);
          left -= part.length;
          yield part;
        }
        reading = false;
      };
      const iterator = body();
      yield { header, data: null, body: iterator };
      if (reading && left > 0) {
        // Not read to its end: the rest is skipped (the caller stopped reading it).
        await iterator.return(undefined);
        while (left > 0) {
          if (queue.length === 0 && !(await fill(1))) throw tarError(`it ends inside ${name}`);
          left -= queue.takeSome(left).length;
        }
      }
      if (!(await fill(padding))) throw tarError(`it ends inside ${name}`);
      queue.skip(padding);
    }
  } finally {
    if (!ended) await input.return?.();
  }
}
