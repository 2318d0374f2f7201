import type { ZstdNapi } from './addons.js';

/**
 * Modules the packaged binary carries inside its bundle. This source-tree version
 * carries none, so callers load from node_modules. scripts/build.mjs --sea swaps
 * this file for bundledModules.sea.cjs, whose static require() makes esbuild bundle
 * the package (a require through createRequire would not be bundled, and a
 * single executable cannot require files from disk).
 */
export function bundledZstdNapi(): ZstdNapi | null {
  return null;
}
