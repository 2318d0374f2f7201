import { Transform, type TransformCallback } from 'node:stream';
import type { ZstdCodec } from './codec.js';

export interface FrameCompressorOptions {
  codec: ZstdCodec;
  /** Input bytes per frame (config.zstd.frameBytes, default 1 MiB). */
  frameBytes: number;
}

/**
 * Cuts its input into pieces of exactly `frameBytes` (the last may be shorter) and
 * writes each as an independent zstd frame with its content size in the header. The
 * concatenation is one valid zstd stream (`zstd -d` reads it) and a reader can skip a
 * frame by its header alone. Holds at most one frame of input plus the chunk being
 * written. Empty input becomes one empty frame, because `zstd -d` rejects a 0-byte file.
 */
export class FrameCompressor extends Transform {
  private readonly codec: ZstdCodec;
  private readonly frameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private framesOut = 0;

  constructor(options: FrameCompressorOptions) {
    super();
    if (options.frameBytes > options.codec.maxFrameBytes) {
      throw new RangeError(
        `frameBytes ${options.frameBytes} exceeds the ${options.codec.name} codec's ${options.codec.maxFrameBytes}`,
      );
    }
    this.codec = options.codec;
    this.frameBytes = options.frameBytes;
  }

  /** Frames written so far. */
  get frames(): number {
    return this.framesOut;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(this.frameBytes - this.pendingBytes, chunk.length - offset);
        this.pending.push(chunk.subarray(offset, offset + take));
        this.pendingBytes += take;
        offset += take;
        if (this.pendingBytes === this.frameBytes) this.emitFrame();
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.pendingBytes > 0 || this.framesOut === 0) this.emitFrame();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  private emitFrame(): void {
    const input =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.framesOut += 1;
    this.push(this.codec.compressFrame(input));
  }
}
