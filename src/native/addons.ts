import { createRequire } from 'node:module';
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

/** Why the last loadZstdNapi() answered null, for `runbox doctor`; undefined if it did not. */
export function zstdNapiLoadError(): unknown {
  return zstdNapiError;
}
