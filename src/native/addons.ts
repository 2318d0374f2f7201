import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { bundledZstdNapi } from './bundledModules.js';
import { seaAddonPath } from './seaAddons.js';

/**
 * Native addons are the one thing a single executable cannot bundle as code. In a
 * plain Node run they load from node_modules as usual; inside the packaged binary
 * (see scripts/package) they are extracted from SEA assets first (seaAddons.ts).
 */
const requireHere = createRequire(import.meta.url);

/**
 * Path to better-sqlite3's .node file, or undefined to let it find its own.
 * Inside the binary this extracts the addon on first call, and throws (naming the
 * cache folder) when that is impossible: runbox cannot work without its queue.
 */
export function betterSqliteBinding(): string | undefined {
  return seaAddonPath('better_sqlite3') ?? undefined;
}

export type ZstdNapi = typeof import('zstd-napi');

let zstdNapiError: unknown;

/** zstd-napi, or null when the native addon cannot load here (see zstdNapiLoadError). */
export function loadZstdNapi(): ZstdNapi | null {
  try {
    // Inside the binary the bundled copy, whose binding comes from a SEA asset.
    return bundledZstdNapi() ?? (requireHere('zstd-napi') as ZstdNapi);
  } catch (error) {
    zstdNapiError = error;
    return null;
  }
}

/**
 * Path of zstd-napi's .node file, for threads that load it themselves with
 * process.dlopen (CompressPool): the extracted SEA asset inside the binary, else the
 * file zstd-napi's own binding.js requires. Throws when neither exists.
 */
export function zstdNapiBindingPath(): string {
  const extracted = seaAddonPath('zstd_napi');
  if (extracted !== null) return extracted;
  const buildType =
    (process.config.target_defaults as { default_configuration?: string } | undefined)
      ?.default_configuration ?? 'Release';
  return join(
    dirname(requireHere.resolve('zstd-napi/package.json')),
    'build',
    buildType,
    'binding.node',
  );
}

/** Why the last loadZstdNapi() answered null, for `runbox doctor`; undefined if it did not. */
export function zstdNapiLoadError(): unknown {
  return zstdNapiError;
}
