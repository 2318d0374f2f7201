import module from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Loads and runs the full CLI (src/fullMain.ts), built by scripts/build.mjs to
 * runbox-full.cjs beside dist/runbox.cjs. The single executable carries it as a SEA
 * asset instead (fullCli.sea.cjs, swapped in by build.mjs --sea).
 */
export function loadFullCli(): void {
  // Node >= 22.1 keeps V8's compiled code for the 5 MB bundle on disk (the OS temp
  // directory, or NODE_COMPILE_CACHE); it must be on before the bundle loads.
  // (Node 20 has no such call, nor its types.)
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  module.createRequire(import.meta.url)(
    fileURLToPath(new URL('./runbox-full.cjs', import.meta.url)),
  );
}
