import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OutputsDirUnreadable,
  walkOutputsDir,
  type OutputItem,
} from '../../src/executor/walkOutputsDir.js';

const WHOLE = 256 * 1024;

/**
 * The host walk while the folder changes under it (the container is stopped before
 * collection, but nothing may depend on it): what replaces a listed file is never
 * followed nor blocked on, and no file is read past the size it had when opened.
 */
describe('walkOutputsDir over a folder that changes while it is read', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbox-walk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Every item, its body read; `during` runs as each item is out, before its body is read. */
  async function walk(
    during: (item: OutputItem) => void = () => {},
  ): Promise<(OutputItem & { read?: Buffer })[]> {
    const items: (OutputItem & { read?: Buffer })[] = [];
    for await (const item of walkOutputsDir(dir, WHOLE)) {
      during(item);
      items.push(item.body ? { ...item, read: await buffer(item.body) } : item);
    }
    return items;
  }

  it('reports a file replaced by a FIFO, a link to /etc/passwd or a folder link as changed, without blocking', async () => {
    for (let i = 0; i < 40; i++)
      writeFileSync(join(dir, `f${String(i).padStart(2, '0')}`), `${i}\n`);
    mkdirSync(join(dir, 'g-dir'));
    writeFileSync(join(dir, 'g-dir', 'inside'), 'inside\n');
    const items = await walk((item) => {
      if (item.path !== 'f00') return;
      unlinkSync(join(dir, 'f35'));
      execFileSync('mkfifo', [join(dir, 'f35')]);
      unlinkSync(join(dir, 'f36'));
      symlinkSync('/etc/passwd', join(dir, 'f36'));
      renameSync(join(dir, 'g-dir'), join(dir, 'moved'));
      symlinkSync('/etc', join(dir, 'g-dir'));
    });
    const byPath = new Map(items.map((i) => [i.path, i]));
    expect(byPath.get('f35')?.type).toBe('changed');
    expect(byPath.get('f36')?.type).toBe('changed');
    expect(byPath.get('g-dir')?.type).toBe('changed');
    expect(items.some((i) => i.path.startsWith('g-dir/'))).toBe(false);
    expect(byPath.get('f34')?.data?.toString()).toBe('34\n');
  });

  it('reads a large file only up to the size it had when opened, and what is left of a shrunk one', async () => {
    const grown = randomBytes(WHOLE + 1000);
    writeFileSync(join(dir, 'a-grows'), grown);
    writeFileSync(join(dir, 'b-shrinks'), randomBytes(WHOLE + 1000));
    // Each changes once it is open (its item out), before its bytes are read.
    const items = await walk((item) => {
      if (item.path === 'a-grows') appendFileSync(join(dir, 'a-grows'), randomBytes(1 << 20));
      if (item.path === 'b-shrinks') truncateSync(join(dir, 'b-shrinks'), 100);
    });
    expect(items[0]).toMatchObject({ path: 'a-grows', size: grown.length });
    expect(items[0]!.read!.equals(grown)).toBe(true);
    expect(items[1]).toMatchObject({ path: 'b-shrinks' });
    expect(items[1]!.read!.length).toBe(100);
  });

  it('hands out the later names of a hard-linked large file as links to the first', async () => {
    writeFileSync(join(dir, 'b'), randomBytes(WHOLE + 1));
    mkdirSync(join(dir, 'a'));
    execFileSync('ln', [join(dir, 'b'), join(dir, 'a', 'x')]);
    execFileSync('ln', [join(dir, 'b'), join(dir, 'c')]);
    const items = await walk();
    expect(items.map((i) => [i.path, i.type, i.linkname])).toEqual([
      ['a/x', 'file', ''],
      ['b', 'link', 'a/x'],
      ['c', 'link', 'a/x'],
    ]);
  });

  it('walks folders 64 deep and leaves deeper ones to the archive (OutputsDirUnreadable)', async () => {
    const deep = (levels: number) => Array.from({ length: levels }, () => 'd').join('/');
    mkdirSync(join(dir, deep(64)), { recursive: true });
    writeFileSync(join(dir, deep(64), 'f'), 'deep\n');
    expect((await walk()).map((i) => i.path)).toEqual([`${deep(64)}/f`]);
    mkdirSync(join(dir, deep(65)));
    await expect(walk()).rejects.toBeInstanceOf(OutputsDirUnreadable);
  });

  it('throws OutputsDirUnreadable for a folder it cannot open', async () => {
    const link = `${dir}-link`;
    symlinkSync(dir, link);
    try {
      await expect(walk()).resolves.toEqual([]);
      const iterator = walkOutputsDir(link, WHOLE)[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toBeInstanceOf(OutputsDirUnreadable);
      const missing = walkOutputsDir(join(dir, 'missing'), WHOLE)[Symbol.asyncIterator]();
      await expect(missing.next()).rejects.toBeInstanceOf(OutputsDirUnreadable);
    } finally {
      unlinkSync(link);
    }
  });
  it('lets the event loop run between small files by bytes read, not only by names', async () => {
    // 48 files of 200 KiB: far fewer names than a turn allows, ~9.4 MiB read whole.
    for (let i = 0; i < 48; i++)
      writeFileSync(join(dir, `s${String(i).padStart(2, '0')}`), randomBytes(200 * 1024));
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const items = await walk();
    counting = false;
    expect(items).toHaveLength(48);
    // At most 4 MiB between two turns: at least two turns inside the walk itself.
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
