import { Transform, type TransformCallback } from 'node:stream';
import { RunboxError } from '../../errors/index.js';
import type { ZstdCodec } from './codec.js';
import { FrameScanner, MAX_BLOCK_BYTES } from './frameFormat.js';

export interface FrameDecompressorOptions {
  codec: ZstdCodec;
  /**
   * Largest frame content accepted; a bigger header is treated as corrupt rather than
   * allocated. @defaultValue codec.maxFrameBytes
   */
  maxFrameBytes?: number;
}

/**
 * Decodes a concatenation of zstd frames (from either codec, or any writer that puts
 * the content size in each header) as it streams. It finds frame ends by walking block
 * headers, collects one frame's compressed bytes, and decodes that frame whole: memory
 * is about one compressed plus one decompressed frame, never the whole stream.
 * Skippable frames are dropped, as zstd's own decoder does.
 *
 * Hazard: one compressed chunk may hold many frames (1 MiB of zeros is a frame of a few
 * bytes: a 64 KiB read of a sparse file's blob holds thousands). The rest of a chunk
 * waits while the reader is full, and goes on when it reads again (_read); decoded all
 * at once, a 100 MiB sparse output took 130 MiB of a server's memory for one download
 * to a slow reader, and an 8 GiB one would take 8 GiB.
 */
export class FrameDecompressor extends Transform {
  private readonly codec: ZstdCodec;
  private readonly maxFrameBytes: number;
  private readonly maxCompressedBytes: number;
  private readonly scanner = new FrameScanner();
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Where a chunk stopped because the reader was full, and its callback. */
  private paused: { chunk: Buffer; pos: number; done: TransformCallback } | null = null;

  constructor(options: FrameDecompressorOptions) {
    super();
    this.codec = options.codec;
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? Infinity, options.codec.maxFrameBytes);
    // A frame never needs much more than its content (raw blocks + 3-byte headers).
    this.maxCompressedBytes =
      this.maxFrameBytes + Math.ceil(this.maxFrameBytes / MAX_BLOCK_BYTES + 1) * 3 + 64;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.work(chunk, 0, done);
  }

  override _read(size: number): void {
    const paused = this.paused;
    if (paused) {
      this.paused = null;
      this.work(paused.chunk, paused.pos, paused.done);
      if (this.paused) return;
    }
    // The chunk is done: Transform may have held its callback (the reader was full when
    // it came), and with nothing pushed no other _read would come to release it.
    super._read(size);
  }

  private work(chunk: Buffer, from: number, done: TransformCallback): void {
    try {
      let pos = from;
      while (pos < chunk.length) {
        const used = this.scanner.feed(chunk, pos);
        pos += used;
        if (this.scanner.header?.skippable) {
          // Nothing to decode: do not hold its payload.
          this.parts = [];
          this.partsBytes = 0;
        } else {
          this.parts.push(chunk.subarray(pos - used, pos));
          this.partsBytes += used;
        }
        this.checkSize();
        if (this.scanner.frameEnded && !this.decodeFrame() && pos < chunk.length) {
          this.paused = { chunk, pos, done };
          return;
        }
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.scanner.atBoundary) {
      done(new RunboxError('Internal', 'truncated zstd stream: it ends inside a frame'));
      return;
    }
    done();
  }

  private checkSize(): void {
    const header = this.scanner.header;
    if (header && !header.skippable) {
      if (header.contentSize === null) {
        throw new RunboxError(
          'Internal',
          'zstd frame without a content size in its header; runbox blobs always carry it',
        );
      }
      if (header.contentSize > this.maxFrameBytes) {
        throw new RunboxError(
          'Internal',
          `zstd frame of ${header.contentSize} bytes exceeds the ${this.maxFrameBytes} this decoder accepts`,
        );
      }
    }
    if (this.partsBytes > this.maxCompressedBytes) {
      throw new RunboxError(
        'Internal',
        `corrupt zstd stream: a frame runs past ${this.maxCompressedBytes} compressed bytes`,
      );
    }
  }

  /** Decodes the collected frame; false when the reader wants no more for now. */
  private decodeFrame(): boolean {
    const header = this.scanner.header!;
    const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.partsBytes = 0;
    this.scanner.reset();
    if (header.skippable) return true;
    const output = this.codec.decompressFrame(frame, header.contentSize!);
    return output.length === 0 || this.push(output);
  }
}
