import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { addonCacheDir } from '../config.js';
import { RunboxError } from '../errors/index.js';

/**
 * Native addons inside the single executable (scripts/package). The binary carries
 * each addon as a SEA asset `<name>.node` and a manifest asset `addons.json`
 * (`{"<name>": "<sha256 of the .node file>"}`, written at build time so a start
 * does not hash megabytes). On first use an addon is written to
 * `<addonCacheDir()>/<sha256>/<name>.node` and loaded from there.
 *
 * Invariants: a cached file is only ever created by renaming a complete temporary
 * file in the same folder, so a reader never sees a partial addon, and two processes
 * starting at once both end with the same bytes under the same name. The folder name
 * is the content hash, so a new binary never loads an old binary's addon.
 * Hazard: the cache folder must allow execution (dlopen fails on a noexec mount);
 * set XDG_CACHE_HOME elsewhere if it does not.
 */
export type AddonName = 'better_sqlite3' | 'zstd_napi';

type Sea = typeof import('node:sea');

const requireHere = createRequire(import.meta.url);
let seaModule: Sea | null | undefined;

/** node:sea when this process is a single executable application, else null. */
function runningSea(): Sea | null {
  if (seaModule === undefined) {
    seaModule = null;
    try {
      // node:sea exists from Node 20.12 (runbox's floor); guard anyway, it is cheap.
      const sea = requireHere('node:sea') as Partial<Sea>;
      if (typeof sea.isSea === 'function' && sea.isSea()) seaModule = sea as Sea;
    } catch {
      // Not a Node with node:sea: certainly not a single executable.
    }
  }
  return seaModule;
}

export function isSea(): boolean {
  return runningSea() !== null;
}

const extracted = new Map<AddonName, string>();
let manifest: Record<string, string> | undefined;

/**
 * Path of the addon's extracted .node file, writing it to the cache on first use;
 * null outside a single executable. Throws when the binary lacks the asset or the
 * cache folder cannot be written, with the folder in the message.
 */
export function seaAddonPath(name: AddonName, cacheDir: string = addonCacheDir()): string | null {
  const sea = runningSea();
  if (sea === null) return null;
  const known = extracted.get(name);
  if (known !== undefined) return known;

  manifest ??= JSON.parse(sea.getAsset('addons.json', 'utf8')) as Record<string, string>;
  const hash = manifest[name];
  if (hash === undefined) {
    throw new Error(`this runbox binary carries no ${name} addon (see scripts/package)`);
  }
  // getRawAsset gives a view of the binary's own memory: no copy, never write to it.
  const bytes = new Uint8Array(sea.getRawAsset(`${name}.node`) as ArrayBuffer);
  const file = extractAddon(name, bytes, hash, cacheDir);
  extracted.set(name, file);
  return file;
}

/**
 * Writes an addon's bytes to `<cacheDir>/<hash>/<name>.node` unless a complete copy is
 * there, and returns that path. A cache that cannot be written is the user's
 * configuration (InvalidConfig, 78, naming XDG_CACHE_HOME), not runbox's fault.
 */
export function extractAddon(
  name: AddonName,
  bytes: Uint8Array,
  hash: string,
  cacheDir: string,
): string {
  const dir = join(cacheDir, hash);
  const file = join(dir, `${name}.node`);
  if (!isComplete(file, bytes.byteLength)) {
    if (createHash('sha256').update(bytes).digest('hex') !== hash) {
      throw new Error(
        `the ${name} addon inside this runbox binary does not match its hash: rebuild it`,
      );
    }
    writeAtomically(dir, file, bytes);
  }
  return file;
}

/** Loads the addon from SEA assets with process.dlopen and returns its exports. */
export function loadSeaAddon(name: AddonName): unknown {
  const file = seaAddonPath(name);
  if (file === null) throw new Error(`${name}: not running as the runbox binary`);
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
}

function isComplete(file: string, size: number): boolean {
  try {
    return statSync(file).size === size;
  } catch {
    return false;
  }
}

/**
 * mkdir -p, one level at a time. Not mkdirSync's recursive option: on some pseudo
 * file systems (measured: under /proc, Node 20 and 24) that loops forever.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    makeDirs(dirname(dir));
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

function writeAtomically(dir: string, file: string, bytes: Uint8Array): void {
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.${process.pid}.tmp`);
  try {
    makeDirs(dir);
    writeFileSync(temp, bytes, { mode: 0o755, flag: 'wx', flush: true });
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    // Another process may have won the race with the same bytes: that is success.
    if (isComplete(file, bytes.byteLength)) return;
    // A plain Error here exited 70 (Internal) from every command that opens the
    // database, when the fix is the user's: a cache folder this user can write.
    throw new RunboxError(
      'InvalidConfig',
      `cannot write the native addon cache ${dir} (${(error as Error).message}); set ` +
        'XDG_CACHE_HOME to a folder this user can write and run files from (not noexec)',
      { field: 'XDG_CACHE_HOME', cause: error },
    );
  }
}
