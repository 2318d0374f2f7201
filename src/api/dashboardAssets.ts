import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardAssets {
  css: string;
  js: string;
}

/** Where the dashboard's browser code lives (src/dashboard, its own tsconfig with DOM). */
export const DASHBOARD_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../dashboard');

/**
 * The dashboard's script and stylesheet, built from src/dashboard on first use when
 * running from source (tests, tsx). scripts/build.mjs replaces this module with one
 * that holds the built files as strings, so the bundle and the single binary serve
 * them with no esbuild, no source and no network.
 */
export function dashboardAssets(): DashboardAssets {
  // esbuild is a build tool (devDependency): required here only, never in the bundle.
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const built = esbuild.buildSync({
    entryPoints: [join(DASHBOARD_SOURCE, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return {
    css: readFileSync(join(DASHBOARD_SOURCE, 'dashboard.css'), 'utf8'),
    js: built.outputFiles[0]!.text,
  };
}
