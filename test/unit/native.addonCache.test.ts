import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, RunboxError } from '../../src/errors/index.js';
import { extractAddon } from '../../src/native/seaAddons.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-addon-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = new TextEncoder().encode('not really a shared object, but bytes all the same');
const hash = createHash('sha256').update(bytes).digest('hex');

describe("the single binary's native addon cache", () => {
  it('writes an addon once under its hash and finds it there the next time', () => {
    const cache = join(dir, 'cache');
    const file = extractAddon('better_sqlite3', bytes, hash, cache);
    expect(file).toBe(join(cache, hash, 'better_sqlite3.node'));
    expect(readFileSync(file)).toEqual(Buffer.from(bytes));
    expect(extractAddon('better_sqlite3', bytes, hash, cache)).toBe(file);
  });

  it('that cannot be written is a configuration error (78) naming the folder and XDG_CACHE_HOME', () => {
    // A folder under a regular file cannot be made, even by root (who ignores modes).
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const cache = join(blocker, 'runbox', 'addons');
    let thrown: unknown;
    try {
      extractAddon('better_sqlite3', bytes, hash, cache);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RunboxError);
    const error = thrown as RunboxError;
    expect(error.type).toBe('InvalidConfig');
    expect(EXIT_CODES[error.type]).toBe(78);
    expect(error.field).toBe('XDG_CACHE_HOME');
    expect(error.message).toContain(`cannot write the native addon cache ${join(cache, hash)}`);
    expect(error.message).toMatch(/ENOTDIR.*set XDG_CACHE_HOME to a folder this user can write/);
  });
});
