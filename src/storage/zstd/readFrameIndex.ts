import { RunboxError } from '../../errors/index.js';
import {
  BLOCK_HEADER_BYTES,
  FRAME_HEADER_PREFIX_BYTES,
  MAX_FRAME_HEADER_BYTES,
  frameHeaderLength,
  parseBlockHeader,
  parseFrameHeader,
} from './frameFormat.js';

/**
 * Bytes at any offset: a FileHandle is one; a remote store reads a range. The index
 * walk reads small pieces through a 64 KiB window, so few reads reach the source.
 */
export interface RandomAccess {
  read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
}

export interface FrameEntry {
  /** Where the frame starts in the file. */
  offset: number;
  compressedBytes: number;
  /** From the header; null if the writer left it out (never for runbox's frames). */
  contentSize: number | null;
  skippable: boolean;
}

/** Reads small pieces at arbitrary offsets through one 64 KiB window. */
class WindowReader {
  private readonly window = Buffer.allocUnsafe(64 * 1024);
  private windowStart = 0;
  private windowLength = 0;

  constructor(
    private readonly file: RandomAccess,
    private readonly fileSize: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset + length > this.fileSize) {
      throw new RunboxError('Internal', `truncated zstd file: it ends inside a frame at ${offset}`);
    }
    const end = this.windowStart + this.windowLength;
    if (offset < this.windowStart || offset + length > end) {
      const { bytesRead } = await this.file.read(this.window, 0, this.window.length, offset);
      this.windowStart = offset;
      this.windowLength = bytesRead;
      if (bytesRead < length) {
        throw new RunboxError('Internal', `short read in zstd file at ${offset}`);
      }
    }
    const at = offset - this.windowStart;
    return this.window.subarray(at, at + length);
  }
}

/**
 * Walks the frames of a zstd file by their headers and block headers only, without
 * decompressing. For compressible data the block headers are close together and one
 * 64 KiB read covers many; for random data it is one small read per 128 KiB block,
 * which is still far cheaper than decoding. Stop early by breaking out of the loop.
 */
export async function* readFrameIndex(
  file: RandomAccess,
  fileSize: number,
): AsyncGenerator<FrameEntry> {
  const reader = new WindowReader(file, fileSize);
  let offset = 0;
  while (offset < fileSize) {
    const prefix = await reader.read(offset, FRAME_HEADER_PREFIX_BYTES);
    const headerLength = frameHeaderLength(prefix);
    const header = parseFrameHeader(
      await reader.read(offset, Math.min(headerLength, MAX_FRAME_HEADER_BYTES)),
    );
    let at = offset + header.headerBytes;
    if (header.skippable) {
      at += header.skippableBytes;
    } else {
      for (;;) {
        const block = parseBlockHeader(await reader.read(at, BLOCK_HEADER_BYTES));
        at += BLOCK_HEADER_BYTES + block.bodyBytes;
        if (block.last) break;
      }
      if (header.hasChecksum) at += 4;
    }
    if (at > fileSize) {
      throw new RunboxError(
        'Internal',
        `truncated zstd file: the frame at ${offset} runs past its end`,
      );
    }
    yield {
      offset,
      compressedBytes: at - offset,
      contentSize: header.contentSize,
      skippable: header.skippable,
    };
    offset = at;
  }
}
