import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/queue/sqlite/openDatabase.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The database id a file opens with (its containers' label); closed again at once. */
function idOf(path: string): string {
  const { db, databaseId } = openDatabase(path);
  db.close();
  return databaseId;
}

describe('a database file and its copies', () => {
  it('gives a copy beside its original an id of its own, and keeps the id of a file moved or restored', () => {
    // Seen: a data dir copied with cp -a and started beside the original kept the
    // original's id, and its start removed the original's running containers.
    const original = join(dir, 'a', 'runbox.db');
    mkdirSync(join(dir, 'a'));
    const id = idOf(original);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(idOf(original)).toBe(id);

    mkdirSync(join(dir, 'copy'));
    const copy = join(dir, 'copy', 'runbox.db');
    copyFileSync(original, copy);
    const copyId = idOf(copy);
    expect(copyId).toMatch(/^[0-9a-f]{16}$/);
    expect(copyId).not.toBe(id);
    // Each keeps its own from then on.
    expect(idOf(copy)).toBe(copyId);
    expect(idOf(original)).toBe(id);

    // The same file through a symlinked folder is the same database.
    symlinkSync(join(dir, 'a'), join(dir, 'link'));
    expect(idOf(join(dir, 'link', 'runbox.db'))).toBe(id);

    // Moved (the original is gone): the same database in a new place.
    mkdirSync(join(dir, 'moved'));
    const moved = join(dir, 'moved', 'runbox.db');
    renameSync(original, moved);
    expect(idOf(moved)).toBe(id);

    // A backup restored over the file it was taken from is that database again.
    const backup = join(dir, 'backup.db');
    copyFileSync(moved, backup);
    copyFileSync(backup, moved);
    expect(idOf(moved)).toBe(id);
  });
});
