#!/usr/bin/env node
// Bundles runbox into two CommonJS files with esbuild: the small client-only entry
// (src/main.ts) and the full CLI it loads for every other command (src/fullMain.ts,
// written to runbox-full.cjs beside it; see the end of this file).
//
//   node scripts/build.mjs                      dist/runbox.cjs (+ dist/runbox-full.cjs), for `node dist/runbox.cjs`
//                                               and bin/runbox: the native addons
//                                               (better-sqlite3, zstd-napi) stay external
//                                               and load from node_modules.
//   node scripts/build.mjs --sea --outfile F    the bundle scripts/package injects into a
//                                               Node binary: nothing may be required from
//                                               disk, so the addons' JS is bundled and their
//                                               .node files come from SEA assets
//                                               (src/native/seaAddons.ts).
//
// Options: --entry PATH (the full CLI's, default src/fullMain.ts), --outfile PATH, --sourcemap (linked .map next to the bundle), --metafile PATH.
// Must stay fast: `npm test` runs it first (about 0.3 s here).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    sea: { type: 'boolean', default: false },
    entry: { type: 'string' },
    outfile: { type: 'string' },
    sourcemap: { type: 'boolean', default: false },
    metafile: { type: 'string' },
  },
});
const sea = args.sea;
const outfile = resolve(root, args.outfile ?? 'dist/runbox.cjs');

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** Replaces the module an import resolves to with fixed source text. */
function replaceModule(name, filter, importerPattern, contents) {
  return {
    name,
    setup(build) {
      build.onResolve({ filter }, (a) =>
        importerPattern.test(a.importer) ? { path: name, namespace: 'runbox-replaced' } : undefined,
      );
      build.onLoad({ filter: new RegExp(`^${name}$`), namespace: 'runbox-replaced' }, () => ({
        contents,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

const plugins = [
  // docker-modem requires ./ssh (and with it ssh2 and cpu-features, whose install
  // scripts we deny) at load time, for ssh:// Docker hosts only. runbox talks to
  // the engine over a unix socket or tcp://, so ssh support is left out.
  replaceModule(
    'docker-modem-ssh',
    /^\.\/ssh$/,
    /[\\/]docker-modem[\\/]lib[\\/]/,
    `module.exports = function sshAgent() {
  throw new Error('runbox: ssh:// Docker hosts are not supported; use a unix socket (DOCKER_HOST=unix:///var/run/docker.sock) or tcp://');
};`,
  ),
  // dockerode requires its BuildKit session (@grpc/grpc-js, protobufjs and .proto
  // files read from disk: 0.8 MB of bundle) at load time, for buildImage({version:
  // '2'}) and docker.followProgress only. runbox builds no images and follows pulls
  // with docker.modem.followProgress, so both are left out.
  replaceModule(
    'dockerode-session',
    /^\.\/(session|buildkit)$/,
    /[\\/]dockerode[\\/]lib[\\/]/,
    `const unsupported = () => {
  throw new Error('runbox: dockerode BuildKit sessions are not bundled; use docker.modem.followProgress');
};
module.exports = unsupported;
module.exports.followProgress = unsupported;`,
  ),
  // zstd-codec carries an asm.js build (1.3 MB) for engines without WebAssembly.
  // Every Node runbox supports has WebAssembly, so only the wasm build is bundled.
  replaceModule(
    'zstd-codec-asmjs',
    /^\.\/zstd-codec-binding\.js$/,
    /[\\/]zstd-codec[\\/]lib[\\/]/,
    `module.exports = function () {
  throw new Error('zstd-codec: this build of runbox bundles only the WebAssembly codec');
};`,
  ),
  // The dashboard (src/dashboard, browser TypeScript) is built here and carried as
  // strings, as /docs's files are; src/api/dashboardAssets.ts builds the same way (the
  // same esbuild options) when runbox runs from source.
  {
    name: 'dashboard-assets',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/dashboardAssets\.js$/ }, (a) =>
        /[\\/]src[\\/]api[\\/]routes[\\/]/.test(a.importer)
          ? { path: 'dashboard-assets', namespace: 'runbox-replaced' }
          : undefined,
      );
      build.onLoad({ filter: /^dashboard-assets$/, namespace: 'runbox-replaced' }, async () => {
        const dir = join(root, 'src/dashboard');
        const built = await esbuild.build({
          entryPoints: [join(dir, 'main.ts')],
          bundle: true,
          write: false,
          format: 'iife',
          target: 'es2022',
          minify: true,
          legalComments: 'none',
          logLevel: 'warning',
        });
        const css = JSON.stringify(readFileSync(join(dir, 'dashboard.css'), 'utf8'));
        const js = JSON.stringify(built.outputFiles[0].text);
        return {
          contents: `export function dashboardAssets() {\n  return { css: ${css}, js: ${js} };\n}`,
          loader: 'js',
          resolveDir: root,
          watchFiles: [join(dir, 'dashboard.css')],
        };
      });
    },
  },
];

// yargs' ESM build brings cliui's ESM build, whose stand-in for wrap-ansi cuts help
// text every N characters, mid-word ("in th|is process"). The CommonJS build of the
// same cliui version wraps at word boundaries with the real wrap-ansi.
plugins.push({
  name: 'cliui-word-wrap',
  setup(build) {
    build.onResolve({ filter: /^cliui$/ }, () => ({
      path: join(root, 'node_modules/cliui/build/index.cjs'),
    }));
  },
});

if (sea) {
  plugins.push(
    // /docs serves Swagger UI's files (src/api/docsAssets.ts reads them from
    // node_modules, which bin/runbox has beside it). The binary has no node_modules: it
    // carries them as SEA assets (scripts/package), read when /docs is first asked for.
    // They are not string literals in the bundle: 2 MB that every command, `submit`
    // included, would read and scan before running a line.
    {
      name: 'docs-assets',
      setup(build) {
        build.onResolve({ filter: /^\.\.\/docsAssets\.js$/ }, (a) =>
          /[\\/]src[\\/]api[\\/]routes[\\/]/.test(a.importer)
            ? { path: 'docs-assets', namespace: 'runbox-replaced' }
            : undefined,
        );
        build.onLoad({ filter: /^docs-assets$/, namespace: 'runbox-replaced' }, () => ({
          contents: `export function docsAssets() {
  const { getAsset } = require('node:sea');
  return { css: getAsset('swagger-ui.css', 'utf8'), js: getAsset('swagger-ui-bundle.js', 'utf8') };
}`,
          loader: 'js',
          resolveDir: root,
        }));
      },
    },
    // zstd-napi's dist/*.js require('../binding'), which requires the .node file
    // next to it. In the binary the addon comes out of a SEA asset instead.
    replaceModule(
      'zstd-napi-binding',
      /^\.\.\/binding$/,
      /[\\/]zstd-napi[\\/]dist[\\/]/,
      `module.exports = require(${JSON.stringify(join(root, 'src/native/seaAddons.ts'))}).loadSeaAddon('zstd_napi');`,
    ),
    // better-sqlite3 only uses `bindings` when no nativeBinding is given; the binary
    // always gives one (src/native/addons.ts), so the file-system search is left out.
    replaceModule(
      'better-sqlite3-bindings',
      /^bindings$/,
      /[\\/]better-sqlite3[\\/]lib[\\/]/,
      `module.exports = function () {
  throw new Error('runbox: better-sqlite3 must be given its nativeBinding inside the binary');
};`,
    ),
    // The source tree's bundledZstdNapi() answers null (load zstd-napi from
    // node_modules); the binary's answers the bundled copy.
    {
      name: 'bundled-modules',
      setup(build) {
        build.onResolve({ filter: /^\.\/bundledModules\.js$/ }, (a) =>
          /[\\/]src[\\/]native[\\/]/.test(a.importer)
            ? { path: join(root, 'src/native/bundledModules.sea.cjs') }
            : undefined,
        );
      },
    },
  );
}

// The output is CommonJS, where import.meta is empty: give import.meta.url the file
// URL of the bundle (inside the binary: of the executable, which is __filename there).
// better-sqlite3 loads a nativeBinding path with __non_webpack_require__ when it
// exists; inside a SEA the plain `require` reaches only built-in modules, so it gets
// a real one.
const banner = [
  'const __runbox_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
  sea ? 'const __runbox_require = require("node:module").createRequire(__filename);' : '',
]
  .filter(Boolean)
  .join('\n');

// Two bundles. The full CLI (src/fullMain.ts, or --entry) goes to runbox-full.cjs
// beside the output; the output itself (src/main.ts) is the small client-only CLI that
// runs submit/status/logs/ls/... by itself and loads runbox-full.cjs for the rest, so a
// client command never reads or compiles the server's 5 MB. Inside the binary the full
// bundle is a SEA asset, written here already wrapped as a CommonJS function (the
// text scripts/package makes V8's code cache from, and src/fullCli.sea.cjs runs).
const fullOutfile = join(dirname(outfile), 'runbox-full.cjs');
const clientPlugins = [
  // status/logs fall back to the local database without a server; the client bundle
  // hands those command lines to the full CLI instead (src/main.ts).
  replaceModule(
    'client-open-local-jobs',
    /^\.\/openLocalJobs\.js$/,
    /[\\/]src[\\/]cli[\\/]localJobs\.ts$/,
    `export function openLocalJobs() {
  throw new Error('runbox: the client-only bundle has no local database; handOff should have run');
}`,
  ),
];
if (sea) {
  clientPlugins.push({
    name: 'full-cli-sea',
    setup(build) {
      build.onResolve({ filter: /^\.\/fullCli\.js$/ }, (a) =>
        /[\\/]src[\\/]main\.ts$/.test(a.importer)
          ? { path: join(root, 'src/fullCli.sea.cjs') }
          : undefined,
      );
    },
  });
}

const options = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  sourcemap: args.sourcemap ? 'linked' : false,
  metafile: Boolean(args.metafile),
  banner: { js: banner },
  define: {
    'import.meta.url': '__runbox_import_meta_url',
    __RUNBOX_VERSION__: JSON.stringify(pkg.version),
    __RUNBOX_COMMIT__: JSON.stringify(gitCommit()),
    ...(sea ? { __non_webpack_require__: '__runbox_require' } : {}),
  },
  // Outside the binary the native addons load from node_modules as usual, and so does
  // zstd-codec (0.75 MB of wasm as text, loaded only when the JS codec is). ssh2 and
  // cpu-features are only reachable through docker-modem's ssh module (replaced
  // above); they stay external in case another dependency mentions them.
  external: sea
    ? ['ssh2', 'cpu-features']
    : ['better-sqlite3', 'zstd-napi', 'zstd-codec', 'ssh2', 'cpu-features'],
};

const started = performance.now();
const [full, client] = await Promise.all([
  esbuild.build({
    ...options,
    entryPoints: [resolve(root, args.entry ?? 'src/fullMain.ts')],
    outfile: fullOutfile,
    plugins,
    ...(sea
      ? {
          // Compiled by vm.Script in the binary, not by Node's CommonJS loader: a
          // dynamic import() there would need vm's experimental loader option, so
          // import('node:stream') and the like become require() (all built-ins here).
          supported: { 'dynamic-import': false },
          banner: {
            js: `(function (exports, require, module, __filename, __dirname) {\n${banner}`,
          },
          footer: { js: '\n})' },
        }
      : {}),
  }),
  esbuild.build({
    ...options,
    entryPoints: [resolve(root, 'src/main.ts')],
    outfile,
    plugins: clientPlugins,
  }),
]);

if (args.metafile) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(resolve(root, args.metafile), JSON.stringify(full.metafile));
  writeFileSync(
    resolve(root, args.metafile.replace(/(\.json)?$/, '.client$1')),
    JSON.stringify(client.metafile),
  );
}
const ms = Math.round(performance.now() - started);
console.log(
  `built ${relative(root, outfile)} and ${relative(root, fullOutfile)}${sea ? ' (sea)' : ''} in ${ms} ms`,
);
