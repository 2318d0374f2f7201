import { RunboxError } from '../../errors/index.js';

/**
 * Just enough of the zstd frame format (RFC 8878 §3.1) to find where frames begin and
 * end without decompressing them. Both codecs only decode whole frames, and range
 * reads skip frames by their header's content size, so neither needs a library for this.
 */

/** 0xFD2FB528, little endian. */
const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames use 0x184D2A50..0x184D2A5F; decoders ignore their payload. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** No block carries more than 128 KiB (Block_Maximum_Size). */
export const MAX_BLOCK_BYTES = 128 * 1024;
/** Magic (4) + descriptor (1): enough to know how long the whole header is. */
export const FRAME_HEADER_PREFIX_BYTES = 5;
/** The longest frame header: magic 4 + descriptor 1 + window 1 + dict id 4 + content size 8. */
export const MAX_FRAME_HEADER_BYTES = 18;
export const BLOCK_HEADER_BYTES = 3;
const CHECKSUM_BYTES = 4;

export interface FrameHeader {
  /** Bytes of the header (for a skippable frame: magic and length, 8). */
  headerBytes: number;
  /** Decompressed size from the header; null when the writer left it out. */
  contentSize: number | null;
  /** A 4-byte content checksum follows the last block. */
  hasChecksum: boolean;
  /** Skippable frame: `skippableBytes` of payload follow the header, and no blocks. */
  skippable: boolean;
  skippableBytes: number;
}

export interface BlockHeader {
  last: boolean;
  /** Bytes after the 3-byte block header (1 for an RLE block). */
  bodyBytes: number;
}

function corrupt(message: string): RunboxError {
  return new RunboxError('Internal', `corrupt zstd stream: ${message}`);
}

/**
 * How many bytes the frame header starting at bytes[0] needs, given at least
 * FRAME_HEADER_PREFIX_BYTES of it (8 for a skippable frame is always enough).
 */
export function frameHeaderLength(prefix: Uint8Array): number {
  const magic = readUint32(prefix, 0);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) return 8;
  if (magic !== ZSTD_MAGIC) {
    throw corrupt(`no frame magic (found 0x${magic.toString(16).padStart(8, '0')})`);
  }
  const descriptor = prefix[4]!;
  if (descriptor & 0x08) throw corrupt('reserved bit set in the frame header descriptor');
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  return FRAME_HEADER_PREFIX_BYTES + (singleSegment ? 0 : 1) + dictIdBytes + fcsBytes;
}

/** Parses a whole frame header (frameHeaderLength(bytes) bytes of it). */
export function parseFrameHeader(bytes: Uint8Array): FrameHeader {
  const headerBytes = frameHeaderLength(bytes);
  if (headerBytes === 8 && readUint32(bytes, 0) !== ZSTD_MAGIC) {
    return {
      headerBytes,
      contentSize: 0,
      hasChecksum: false,
      skippable: true,
      skippableBytes: readUint32(bytes, 4),
    };
  }
  const descriptor = bytes[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const at = headerBytes - fcsBytes;
  let contentSize: number | null;
  switch (fcsBytes) {
    case 0:
      contentSize = null;
      break;
    case 1:
      contentSize = bytes[at]!;
      break;
    case 2:
      contentSize = (bytes[at]! | (bytes[at + 1]! << 8)) + 256;
      break;
    case 4:
      contentSize = readUint32(bytes, at);
      break;
    default: {
      const high = readUint32(bytes, at + 4);
      // 2^53 bytes is far past anything runbox writes; refuse rather than lose precision.
      if (high >= 0x200000) throw corrupt('frame content size beyond 2^53');
      contentSize = high * 0x100000000 + readUint32(bytes, at);
    }
  }
  return {
    headerBytes,
    contentSize,
    hasChecksum: ((descriptor >> 2) & 1) === 1,
    skippable: false,
    skippableBytes: 0,
  };
}

export function parseBlockHeader(bytes: Uint8Array, at = 0): BlockHeader {
  const value = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
  const type = (value >> 1) & 3;
  const size = value >>> 3;
  if (type === 3) throw corrupt('reserved block type');
  if (size > MAX_BLOCK_BYTES) throw corrupt(`block of ${size} bytes (at most ${MAX_BLOCK_BYTES})`);
  return { last: (value & 1) === 1, bodyBytes: type === 1 ? 1 : size };
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

/**
 * Finds frame boundaries in a byte stream fed in arbitrary pieces, holding at most a
 * header's worth of bytes itself. feed() returns how many bytes of `chunk` (from `pos`)
 * belong to the current frame; when `frameEnded` is then true the frame is complete,
 * and `header` describes it.
 */
export class FrameScanner {
  header: FrameHeader | null = null;
  frameEnded = false;
  private readonly small = new Uint8Array(MAX_FRAME_HEADER_BYTES);
  private smallLength = 0;
  private state: 'frameHeader' | 'blockHeader' | 'skip' = 'frameHeader';
  private skipRemaining = 0;
  private afterSkip: 'blockHeader' | 'checksum' | 'end' = 'blockHeader';

  /** True between frames: a stream that stops here is complete. */
  get atBoundary(): boolean {
    return this.state === 'frameHeader' && this.smallLength === 0;
  }

  /** Starts scanning the next frame (after frameEnded). */
  reset(): void {
    this.header = null;
    this.frameEnded = false;
    this.state = 'frameHeader';
    this.smallLength = 0;
  }

  feed(chunk: Uint8Array, pos: number): number {
    const start = pos;
    while (!this.frameEnded) {
      if (this.state === 'skip') {
        const take = Math.min(this.skipRemaining, chunk.length - pos);
        this.skipRemaining -= take;
        pos += take;
        if (this.skipRemaining > 0) break;
        this.afterSkipDone();
        continue;
      }
      if (pos >= chunk.length) break;
      if (this.state === 'frameHeader') {
        const needed =
          this.smallLength < FRAME_HEADER_PREFIX_BYTES
            ? FRAME_HEADER_PREFIX_BYTES
            : frameHeaderLength(this.small);
        pos = this.collect(chunk, pos, needed);
        if (this.smallLength < needed) continue;
        if (needed === FRAME_HEADER_PREFIX_BYTES && frameHeaderLength(this.small) > needed) {
          continue;
        }
        this.header = parseFrameHeader(this.small.subarray(0, this.smallLength));
        this.smallLength = 0;
        if (this.header.skippable) {
          this.skip(this.header.skippableBytes, 'end');
        } else {
          this.state = 'blockHeader';
        }
      } else {
        pos = this.collect(chunk, pos, BLOCK_HEADER_BYTES);
        if (this.smallLength < BLOCK_HEADER_BYTES) continue;
        const block = parseBlockHeader(this.small);
        this.smallLength = 0;
        this.skip(
          block.bodyBytes,
          !block.last ? 'blockHeader' : this.header!.hasChecksum ? 'checksum' : 'end',
        );
      }
    }
    return pos - start;
  }

  private collect(chunk: Uint8Array, pos: number, needed: number): number {
    const take = Math.min(needed - this.smallLength, chunk.length - pos);
    this.small.set(chunk.subarray(pos, pos + take), this.smallLength);
    this.smallLength += take;
    return pos + take;
  }

  private skip(bytes: number, then: 'blockHeader' | 'checksum' | 'end'): void {
    this.state = 'skip';
    this.skipRemaining = bytes;
    this.afterSkip = then;
  }

  private afterSkipDone(): void {
    if (this.afterSkip === 'blockHeader') {
      this.state = 'blockHeader';
    } else if (this.afterSkip === 'checksum') {
      this.skip(CHECKSUM_BYTES, 'end');
    } else {
      this.frameEnded = true;
    }
  }
}
