/* global require, exports, __filename, __dirname, Buffer */
// The single-executable twin of fullCli.ts (swapped in by scripts/build.mjs --sea).
// The full CLI is the SEA asset runbox-full.cjs, already wrapped by build.mjs as a
// CommonJS function; scripts/package stores V8's code cache for it (runbox-full.cache,
// made by the same Node binary), so it is not compiled from scratch on each start. A
// cache V8 refuses (another V8 or other flags) only costs that compile.
exports.loadFullCli = function loadFullCli() {
  // Built-in modules: the SEA's require reaches only those.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getAsset } = require('node:sea');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vm = require('node:vm');
  let cachedData;
  try {
    cachedData = Buffer.from(getAsset('runbox-full.cache'));
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(getAsset('runbox-full.cjs', 'utf8'), {
    filename: 'runbox-full.cjs',
    cachedData,
  });
  const wrapped = script.runInThisContext();
  const full = { exports: {} };
  // The SEA's own require (built-in modules only), and the executable as __filename:
  // what the full bundle gets as the main script today.
  wrapped.call(full.exports, full.exports, require, full, __filename, __dirname);
};
