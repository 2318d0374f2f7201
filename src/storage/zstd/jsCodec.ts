import { RunboxError } from '../../errors/index.js';
import { MiB, type ZstdCodec } from './codec.js';
import type { ZstdBinding } from 'zstd-codec';

/**
 * zstd-codec runs in a wasm module with a fixed 16 MiB heap that holds the input, the
 * output and the zstd context at once: 4 MiB frames fit, 6 MiB ones abort with OOM
 * (measured). Larger frames are refused before they reach it.
 */
export const JS_MAX_FRAME_BYTES = 4 * MiB;

let loading: Promise<ZstdBinding> | null = null;

/** Instantiates the wasm module once per process (async: it compiles on first use). */
function loadBinding(): Promise<ZstdBinding> {
  loading ??= import('zstd-codec').then(
    (mod) =>
      new Promise<ZstdBinding>((resolve) => {
        mod.ZstdCodec.run((zstd) => resolve(zstd));
      }),
  );
  return loading;
}

function wasmFailure(what: string, cause?: unknown): RunboxError {
  // An emscripten abort leaves the module unusable; the next codec gets a fresh one.
  loading = null;
  return new RunboxError('Internal', `zstd-codec (js) could not ${what}`, { cause });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The pure JavaScript/wasm codec: the fallback when zstd-napi cannot load. */
export async function createJsCodec(level: number): Promise<ZstdCodec> {
  const simple = new (await loadBinding()).Simple();
  return {
    name: 'js',
    maxFrameBytes: JS_MAX_FRAME_BYTES,
    compressFrame(input) {
      if (input.length > JS_MAX_FRAME_BYTES) {
        throw new RunboxError(
          'Internal',
          `zstd-codec (js) frames hold at most ${JS_MAX_FRAME_BYTES} bytes, got ${input.length}`,
        );
      }
      let output: Uint8Array | null;
      try {
        output = simple.compress(input, level);
      } catch (error) {
        throw wasmFailure(`compress a ${input.length}-byte frame`, error);
      }
      if (!output) throw wasmFailure(`compress a ${input.length}-byte frame`);
      return asBuffer(output);
    },
    decompressFrame(frame, contentSize) {
      // zstd-codec answers null for an empty frame; there is nothing to decode anyway.
      if (contentSize === 0) return Buffer.alloc(0);
      if (contentSize > JS_MAX_FRAME_BYTES) {
        throw new RunboxError(
          'Internal',
          `zstd frame of ${contentSize} bytes is too large for zstd-codec (js, at most ` +
            `${JS_MAX_FRAME_BYTES}); decode this blob with the native codec`,
        );
      }
      let output: Uint8Array | null;
      try {
        output = simple.decompress(frame);
      } catch (error) {
        throw wasmFailure(`decompress a ${contentSize}-byte frame`, error);
      }
      if (!output || output.length !== contentSize) {
        throw new RunboxError(
          'Internal',
          `corrupt zstd frame: could not decode ${contentSize} bytes`,
        );
      }
      return asBuffer(output);
    },
  };
}
