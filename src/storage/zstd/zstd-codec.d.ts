/**
 * The part of zstd-codec 0.1.5 runbox uses (it ships no types). See
 * node_modules/zstd-codec/lib/zstd-codec.js: run() instantiates a fresh wasm module
 * (16 MiB fixed heap) and calls back once it is ready.
 */
declare module 'zstd-codec' {
  export interface ZstdSimple {
    /** One frame with the content size in its header (ZSTD_compress); null on failure. */
    compress(content: Uint8Array, level?: number): Uint8Array | null;
    /** One frame with a content size; null on failure and for an empty frame. */
    decompress(compressed: Uint8Array): Uint8Array | null;
  }
  export interface ZstdBinding {
    Simple: new () => ZstdSimple;
  }
  export const ZstdCodec: { run(onReady: (zstd: ZstdBinding) => void): void };
}
