import { RunboxError } from '../../errors/index.js';
import type { ZstdNapi } from '../../native/addons.js';
import { MiB, type ZstdCodec } from './codec.js';
import type { CompressPool } from './CompressPool.js';

/**
 * Frames above this are refused: a frame is decoded into one buffer, so a corrupt
 * header claiming gigabytes must not become one allocation.
 */
const NATIVE_MAX_FRAME_BYTES = 64 * MiB;

/**
 * The zstd-napi codec. `napi` comes from loadZstdNapi(), the packaging seam. With a
 * pool (same level), large blobs are compressed on its threads (compressFrameAsync).
 */
export function createNativeCodec(napi: ZstdNapi, level: number, pool?: CompressPool): ZstdCodec {
  const compressor = new napi.Compressor();
  // contentSizeFlag is zstd's default; set it anyway, range reads depend on it.
  compressor.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: false });
  const decompressor = new napi.Decompressor();
  return {
    name: 'native',
    maxFrameBytes: NATIVE_MAX_FRAME_BYTES,
    compressFrame(input) {
      return compressor.compress(input);
    },
    ...(pool && {
      threads: pool.threads,
      compressFrameAsync: (pieces: readonly Uint8Array[]) => pool.compress(pieces),
      recycleFrame: (frame: Buffer) => pool.recycle(frame),
    }),
    decompressFrame(frame, contentSize) {
      const output = decompressor.decompress(frame);
      if (output.length !== contentSize) {
        throw new RunboxError(
          'Internal',
          `corrupt zstd frame: header says ${contentSize} bytes, decoded ${output.length}`,
        );
      }
      return output;
    },
  };
}
