/**
 * One zstd frame in, one out. Both implementations write standard frames with the
 * content size in the header and no checksum (the blob's sha256 covers integrity), so
 * their output is interchangeable and any zstd decoder reads it.
 *
 * Calls are whole-frame (compressFrameAsync aside, synchronous): the framing streams bound a frame's input to
 * `zstd.frameBytes`, which is what keeps memory flat however large the blob.
 */
export interface ZstdCodec {
  readonly name: 'native' | 'js';
  /** Largest frame content (input bytes) this codec compresses or decompresses. */
  readonly maxFrameBytes: number;
  /** Compresses `input` (at most maxFrameBytes) as one independent frame. */
  compressFrame(input: Uint8Array): Buffer;
  /**
   * The same frame as compressFrame of the pieces' concatenation, compressed off the
   * main thread (CompressPool); the pieces are copied at once. Absent when the codec
   * has no threads (the js codec, or zstd.threads 0).
   */
  compressFrameAsync?(pieces: readonly Uint8Array[]): Promise<Buffer>;
  /**
   * Gives back a frame compressFrameAsync returned, once nothing reads it any more (its
   * file write has completed): its memory serves a later frame. Optional for callers: a
   * frame never given back is just collected.
   */
  recycleFrame?(frame: Buffer): void;
  /** Frames worth keeping in flight with compressFrameAsync (its threads). */
  readonly threads?: number;
  /** Decompresses exactly one frame whose header says `contentSize`. */
  decompressFrame(frame: Uint8Array, contentSize: number): Buffer;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
