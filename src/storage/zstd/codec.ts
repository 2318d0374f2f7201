/**
 * One zstd frame in, one out. Both implementations write standard frames with the
 * content size in the header and no checksum (the blob's sha256 covers integrity), so
 * their output is interchangeable and any zstd decoder reads it.
 *
 * Calls are synchronous and whole-frame: the framing streams bound a frame's input to
 * `zstd.frameBytes`, which is what keeps memory flat however large the blob.
 */
export interface ZstdCodec {
  readonly name: 'native' | 'js';
  /** Largest frame content (input bytes) this codec compresses or decompresses. */
  readonly maxFrameBytes: number;
  /** Compresses `input` (at most maxFrameBytes) as one independent frame. */
  compressFrame(input: Uint8Array): Buffer;
  /** Decompresses exactly one frame whose header says `contentSize`. */
  decompressFrame(frame: Uint8Array, contentSize: number): Buffer;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
