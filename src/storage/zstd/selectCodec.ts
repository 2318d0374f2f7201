import { defaultZstdThreads, type Config } from '../../config.js';
import { RunboxError } from '../../errors/index.js';
import { loadZstdNapi, zstdNapiBindingPath } from '../../native/addons.js';
import type { ZstdCodec } from './codec.js';
import { CompressPool } from './CompressPool.js';
import { createJsCodec } from './jsCodec.js';
import { createNativeCodec } from './nativeCodec.js';

/**
 * The codec config.zstd asks for:
 * - 'auto': zstd-napi when the native addon loads, else zstd-codec (js);
 * - 'native': zstd-napi, or an InvalidConfig error saying what to do;
 * - 'js': zstd-codec even when the addon would load.
 * Also checks that frameBytes fits the chosen codec, so a bad config fails at startup
 * and not in the middle of a job. The native codec gets a CompressPool of
 * zstd.threads threads (started on first use; idle threads never hold the process).
 */
/** config.zstd; threads may be left out (then the same default as the config's). */
export type ZstdOptions = Omit<Config['zstd'], 'threads'> & { threads?: number };

/**
 * One pool per (addon, level, threads) in the process: every store and every job slot
 * shares its threads, so concurrent outputs never start more than `threads` of them.
 */
const pools = new Map<string, CompressPool>();

function sharedPool(bindingPath: string, level: number, threads: number): CompressPool {
  const key = `${bindingPath}\0${level}\0${threads}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new CompressPool({ bindingPath, level, threads });
    pools.set(key, pool);
  }
  return pool;
}

export async function selectZstdCodec(
  zstd: ZstdOptions,
  /** Seam for tests; the packaged binary's loader is loadZstdNapi too. */
  loadNative: typeof loadZstdNapi = loadZstdNapi,
  bindingPath: () => string = zstdNapiBindingPath,
): Promise<ZstdCodec> {
  if (!Number.isInteger(zstd.frameBytes) || zstd.frameBytes < 1) {
    throw new RunboxError(
      'InvalidConfig',
      `zstd.frameBytes: ${zstd.frameBytes} must be a positive integer (default 1 MiB)`,
      { field: 'zstd.frameBytes' },
    );
  }
  let codec: ZstdCodec;
  if (zstd.codec === 'js') {
    codec = await createJsCodec(zstd.level);
  } else {
    const napi = loadNative();
    if (napi) {
      const threads = zstd.threads ?? defaultZstdThreads();
      const pool = threads > 0 ? sharedPool(bindingPath(), zstd.level, threads) : undefined;
      codec = createNativeCodec(napi, zstd.level, pool);
    } else if (zstd.codec === 'native') {
      throw new RunboxError(
        'InvalidConfig',
        'zstd.codec is "native" but the zstd-napi addon cannot be loaded here; rebuild it ' +
          '(npm rebuild zstd-napi) or set zstd.codec to "auto" or "js" (RUNBOX_ZSTD_CODEC)',
        { field: 'zstd.codec' },
      );
    } else {
      codec = await createJsCodec(zstd.level);
    }
  }
  if (zstd.frameBytes > codec.maxFrameBytes) {
    throw new RunboxError(
      'InvalidConfig',
      `zstd.frameBytes: ${zstd.frameBytes} is more than the ${codec.name} codec handles ` +
        `(${codec.maxFrameBytes}); use 1 MiB, the default`,
      { field: 'zstd.frameBytes' },
    );
  }
  return codec;
}
