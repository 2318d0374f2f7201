import { Transform, type TransformCallback } from 'node:stream';
import type { ZstdCodec } from './codec.js';

export interface FrameCompressorOptions {
  codec: ZstdCodec;
  /** Input bytes per frame (config.zstd.frameBytes, default 1 MiB). */
  frameBytes: number;
}

/**
 * Frames compressing at once off the main thread: libuv's thread pool has 4 threads, and
 * more in flight would only hold more memory (one frame of input and output each).
 */
const FRAMES_IN_FLIGHT = 4;

/**
 * Cuts its input into pieces of exactly `frameBytes` (the last may be shorter) and
 * writes each as an independent zstd frame with its content size in the header. The
 * concatenation is one valid zstd stream (`zstd -d` reads it) and a reader can skip a
 * frame by its header alone. Holds at most one frame of input plus the chunk being
 * written. Empty input becomes one empty frame, because `zstd -d` rejects a 0-byte file.
 *
 * Where the codec compresses off the main thread, up to FRAMES_IN_FLIGHT frames are
 * compressed at once and pushed in their input order; the transform takes no more input
 * while that many are in flight, so memory stays bounded.
 */
export class FrameCompressor extends Transform {
  private readonly codec: ZstdCodec;
  private readonly frameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private framesOut = 0;
  private readonly inFlight: Array<Promise<Buffer>> = [];

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
    this.accept(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    const last = async () => {
      if (this.pendingBytes > 0 || this.framesOut === 0) await this.emitFrame();
      while (this.inFlight.length > 0) this.push(await this.inFlight.shift()!);
    };
    last().then(() => done(), done);
  }

  private async accept(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.frameBytes - this.pendingBytes, chunk.length - offset);
      this.pending.push(chunk.subarray(offset, offset + take));
      this.pendingBytes += take;
      offset += take;
      if (this.pendingBytes === this.frameBytes) await this.emitFrame();
    }
  }

  private async emitFrame(): Promise<void> {
    const input =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.framesOut += 1;
    const compressAsync = this.codec.compressFrameAsync;
    if (!compressAsync) {
      this.push(this.codec.compressFrame(input));
      return;
    }
    const frame = compressAsync(input);
    // Handled where it is awaited; this keeps a rejection from counting as unhandled
    // while earlier frames are still being awaited.
    frame.catch(() => undefined);
    this.inFlight.push(frame);
    while (this.inFlight.length >= FRAMES_IN_FLIGHT) this.push(await this.inFlight.shift()!);
  }
}
