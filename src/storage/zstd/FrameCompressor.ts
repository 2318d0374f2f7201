import { Transform, type TransformCallback } from 'node:stream';
import type { ZstdCodec } from './codec.js';

export interface FrameCompressorOptions {
  codec: ZstdCodec;
  /** Input bytes per frame (config.zstd.frameBytes, default 1 MiB). */
  frameBytes: number;
  /**
   * Called with each input chunk once none of its bytes is held here any more (all were
   * copied into frames handed to the codec), for a source that reuses its buffers
   * (recycledInput.ts). Never called for a chunk whose last frame was not compressed.
   */
  onConsumed?: ((chunk: Buffer) => void) | undefined;
}

/** A frame handed to the codec's threads, in input order. */
interface InFlight {
  promise: Promise<Buffer>;
  output: Buffer | null;
  error: Error | null;
}

/**
 * Cuts its input into pieces of exactly `frameBytes` (the last may be shorter) and
 * writes each as an independent zstd frame with its content size in the header. The
 * concatenation is one valid zstd stream (`zstd -d` reads it) and a reader can skip a
 * frame by its header alone. Empty input becomes one empty frame, because `zstd -d`
 * rejects a 0-byte file.
 *
 * With a codec that has threads (compressFrameAsync), frames are compressed there while
 * the next input arrives: up to 2 x threads frames are in flight, and their outputs are
 * pushed strictly in input order. A full window holds back the callback of _transform,
 * which is the backpressure: memory stays at about 2 x threads x (frame in + frame out)
 * whatever the blob's size. A stream shorter than one frame is compressed here, at its
 * end, so logs and small files never wait for a thread. Without threads, compression is
 * synchronous and it holds at most one frame of input plus the chunk being written.
 */
export class FrameCompressor extends Transform {
  private readonly codec: ZstdCodec;
  private readonly frameBytes: number;
  private readonly window: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Whole chunks whose last bytes are in `pending` (given back once it is compressed). */
  private pendingChunks: Buffer[] = [];
  private readonly onConsumed: ((chunk: Buffer) => void) | undefined;
  private framesOut = 0;
  private readonly inFlight: InFlight[] = [];

  constructor(options: FrameCompressorOptions) {
    super();
    if (options.frameBytes > options.codec.maxFrameBytes) {
      throw new RangeError(
        `frameBytes ${options.frameBytes} exceeds the ${options.codec.name} codec's ${options.codec.maxFrameBytes}`,
      );
    }
    this.codec = options.codec;
    this.frameBytes = options.frameBytes;
    this.onConsumed = options.onConsumed;
    this.window = options.codec.compressFrameAsync
      ? 2 * Math.max(1, options.codec.threads ?? 1)
      : 0;
  }

  /** Frames written so far (queued for compression included). */
  get frames(): number {
    return this.framesOut;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.window === 0) {
      try {
        this.cut(chunk, 0);
        done();
      } catch (error) {
        done(error as Error);
      }
      return;
    }
    this.cutThreaded(chunk).then(() => done(), done);
  }

  /** Cuts `chunk` from `offset` into frames; returns where it stopped (the end, or a full window). */
  private cut(chunk: Buffer, offset: number): number {
    while (offset < chunk.length) {
      const take = Math.min(this.frameBytes - this.pendingBytes, chunk.length - offset);
      this.pending.push(chunk.subarray(offset, offset + take));
      this.pendingBytes += take;
      offset += take;
      if (offset === chunk.length && this.onConsumed) this.pendingChunks.push(chunk);
      if (this.pendingBytes === this.frameBytes) {
        this.emitFrame();
        if (this.window > 0 && this.inFlight.length >= this.window) break;
      }
    }
    return offset;
  }

  /** cut(), waiting for the oldest frame whenever the window is full (one chunk may hold many frames). */
  private async cutThreaded(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      offset = this.cut(chunk, offset);
      await this.drain(this.window - 1);
      if (this.destroyed) return;
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.framesOut === 0) {
        // The whole stream is one short frame (a log, a small file): compressed here,
        // it never waits for a thread to start, which would cost more than it saves.
        this.framesOut = 1;
        const input = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
        this.push(this.codec.compressFrame(input));
        this.giveBack();
        done();
        return;
      }
      if (this.pendingBytes > 0) this.emitFrame();
    } catch (error) {
      done(error as Error);
      return;
    }
    if (this.window === 0) {
      done();
      return;
    }
    this.drain(0).then(() => done(), done);
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    // Frames still on the threads finish there; their results are dropped (each
    // promise has a handler, so a late failure is not an unhandled rejection).
    this.inFlight.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingChunks = [];
    done(error);
  }

  private emitFrame(): void {
    const pending = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.framesOut += 1;
    if (this.window === 0) {
      const input = pending.length === 1 ? pending[0]! : Buffer.concat(pending, bytes);
      this.push(this.codec.compressFrame(input));
      this.giveBack();
      return;
    }
    const entry: InFlight = {
      // The codec copies the pieces before it returns (CompressPool.compress).
      promise: this.codec.compressFrameAsync!(pending),
      output: null,
      error: null,
    };
    this.giveBack();
    entry.promise.then(
      (output) => {
        entry.output = output;
        this.pushReady();
      },
      (error: Error) => {
        entry.error = error;
      },
    );
    this.inFlight.push(entry);
  }

  /** The chunks that ended in the frame just compressed (or copied for compressing). */
  private giveBack(): void {
    if (this.pendingChunks.length === 0) return;
    const chunks = this.pendingChunks;
    this.pendingChunks = [];
    for (const chunk of chunks) this.onConsumed!(chunk);
  }

  /** Pushes finished frames from the head of the queue, in order. */
  private pushReady(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.output !== null) {
      this.push(this.inFlight.shift()!.output);
    }
  }

  /** Waits, in order, until at most `keep` frames are in flight; rejects on a failed frame. */
  private async drain(keep: number): Promise<void> {
    while (this.inFlight.length > keep) {
      const head = this.inFlight[0]!;
      await head.promise.catch(() => undefined);
      if (this.destroyed) return;
      if (head.error) throw head.error;
      this.pushReady();
    }
  }
}
