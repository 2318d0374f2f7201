import * as zlib from 'node:zlib';
import type { ZstdCodec } from './codec.js';

type ZstdCompressAsync = (
  input: Uint8Array,
  options: { pledgedSrcSize: number; params: Record<number, number> },
  callback: (error: Error | null, result: Buffer) => void,
) => void;

/**
 * Node's own zstd (node:zlib, Node >= 22.15: the Node inside the binary has it) runs a
 * one-shot compression on libuv's thread pool. Its frames are standard frames like
 * zstd-napi's: level as configured, content size in the header (pledgedSrcSize, which
 * range reads depend on), no checksum. Null on a Node without it.
 */
export function zlibCompressor(level: number): ((input: Uint8Array) => Promise<Buffer>) | null {
  const compress = (zlib as unknown as { zstdCompress?: ZstdCompressAsync }).zstdCompress;
  const constants = zlib.constants as unknown as Record<string, number | undefined>;
  const levelParam = constants.ZSTD_c_compressionLevel;
  const checksumParam = constants.ZSTD_c_checksumFlag;
  if (!compress || levelParam === undefined || checksumParam === undefined) return null;
  const params = { [levelParam]: level, [checksumParam]: 0 };
  return (input) =>
    new Promise((resolve, reject) => {
      compress(input, { pledgedSrcSize: input.length, params }, (error, result) =>
        error ? reject(error) : resolve(result),
      );
    });
}

/**
 * The codec with compressFrameAsync from node:zlib where this Node has it. Either codec
 * reads those frames: they are standard frames with a content size, as its own are.
 */
export function withAsyncCompression(codec: ZstdCodec, level: number): ZstdCodec {
  const compressFrameAsync = zlibCompressor(level);
  return compressFrameAsync ? { ...codec, compressFrameAsync } : codec;
}
