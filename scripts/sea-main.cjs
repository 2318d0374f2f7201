/* global require, exports, module, __filename, __dirname, Buffer */
// The main script of the single executable (scripts/package): runs the client bundle
// (dist/runbox.cjs, src/main.ts), stored as the SEA asset runbox-client.cjs, with V8's
// code cache for it, runbox-client.cache. That cache is made at package time by the
// same Node binary after running a `runbox submit` (scripts/sea-client-cache.cjs), so it
// holds every function a client command runs, compiled. SEA's own useCodeCache makes
// its cache from a compile without running: each function (every module's body, in a
// bundle) was then compiled again on every start, measured ~10% of a `submit`
// (README, Performance). A cache V8 refuses (another V8 or other flags) only costs
// that compile.
// Built-in modules: the SEA's require reaches only those.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getAsset } = require('node:sea');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Script } = require('node:vm');
let cachedData;
try {
  cachedData = Buffer.from(getAsset('runbox-client.cache'));
} catch {
  cachedData = undefined;
}
const script = new Script(getAsset('runbox-client.cjs', 'utf8'), {
  filename: 'runbox.cjs',
  cachedData,
});
// The SEA's require and the executable as __filename, as when the bundle was the main.
script.runInThisContext().call(exports, exports, require, module, __filename, __dirname);
