import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let source: string | undefined;

/**
 * The writer thread's code (threadMain.ts and what it imports, better-sqlite3's
 * JavaScript included), as one CommonJS script for a Worker with eval: true. Built here
 * on first use when running from source (tests, tsx); scripts/build.mjs replaces this
 * module with one that holds the built script, so the bundle and the single binary
 * carry it with no esbuild and no files.
 */
export function writerThreadSource(): string {
  if (source === undefined) {
    // esbuild is a build tool (devDependency): required here only, never in the bundle.
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const built = esbuild.buildSync({
      entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'threadMain.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
    });
    source = built.outputFiles[0]!.text;
  }
  return source;
}
