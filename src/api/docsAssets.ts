import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface DocsAssets {
  css: string;
  js: string;
}

/**
 * Swagger UI's own files, read from node_modules. scripts/build.mjs replaces this
 * module with one that holds the same files as strings, so the bundle and the single
 * binary serve /docs with no node_modules and no network.
 */
export function docsAssets(): DocsAssets {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return {
    css: readFileSync(join(dir, 'swagger-ui.css'), 'utf8'),
    js: readFileSync(join(dir, 'swagger-ui-bundle.js'), 'utf8'),
  };
}
