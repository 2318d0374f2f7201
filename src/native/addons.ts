import { createRequire } from 'node:module';

/**
 * Native addons are the one thing a single executable cannot bundle as code. In a
 * plain Node run they load from node_modules as usual; inside the packaged binary
 * (see scripts/package) they are extracted from SEA assets first.
 */
const requireHere = createRequire(import.meta.url);

/** Path to better-sqlite3's .node file, or undefined to let it find its own. */
export function betterSqliteBinding(): string | undefined {
  return undefined;
}

export type ZstdNapi = typeof import('zstd-napi');

/** zstd-napi, or null when the native addon cannot load here. */
export function loadZstdNapi(): ZstdNapi | null {
  try {
    return requireHere('zstd-napi') as ZstdNapi;
  } catch {
    return null;
  }
}
