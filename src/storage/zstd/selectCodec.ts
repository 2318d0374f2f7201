import type { Config } from '../../config.js';
import { RunboxError } from '../../errors/index.js';
import { loadZstdNapi } from '../../native/addons.js';
import type { ZstdCodec } from './codec.js';
import { createJsCodec } from './jsCodec.js';
import { createNativeCodec } from './nativeCodec.js';

/**
 * The codec config.zstd asks for:
 * - 'auto': zstd-napi when the native addon loads, else zstd-codec (js);
 * - 'native': zstd-napi, or an InvalidConfig error saying what to do;
 * - 'js': zstd-codec even when the addon would load.
 * Also checks that frameBytes fits the chosen codec, so a bad config fails at startup
 * and not in the middle of a job.
 */
export async function selectZstdCodec(
  zstd: Config['zstd'],
  /** Seam for tests; the packaged binary's loader is loadZstdNapi too. */
  loadNative: typeof loadZstdNapi = loadZstdNapi,
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
      codec = createNativeCodec(napi, zstd.level);
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
