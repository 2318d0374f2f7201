/* global exports, require */
// The single-executable twin of bundledModules.ts (swapped in by
// scripts/build.mjs --sea). zstd-napi's binding comes from a SEA asset: build.mjs
// replaces its require('../binding') with loadSeaAddon('zstd_napi').
exports.bundledZstdNapi = function bundledZstdNapi() {
  // A static require, so that esbuild bundles the package.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('zstd-napi');
};
