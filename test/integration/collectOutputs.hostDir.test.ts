import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectOutputs, type CollectedOutputs } from '../../src/executor/collectOutputs.js';
import { createFileBlobStore, type FileBlobStore } from '../../src/storage/index.js';
import { loadConfig } from '../../src/config.js';

/**
 * Reading the host folder must give the manifest the engine's archive of the same
 * folder gives: paths (spaces, non-ASCII, invalid UTF-8, long), order, types, sizes,
 * hashes, link targets, hard links, the skipped list, and where a limit stops. A
 * created (never started) container bind-mounts the folder, and both sources are read
 * from it.
 */

const IMAGE = 'runbox-test/shell:latest';
const LIMITS = { files: 100_000, bytes: 1 << 30 };
const bytesName = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** A folder with everything a job could leave. */
async function hostileFolder(dir: string): Promise<void> {
  const at = (name: string) => join(dir, name);
  writeFileSync(at('plain file é.txt'), 'data\n');
  writeFileSync(at('with  two spaces '), 'spaces\n');
  writeFileSync(at('日本語.txt'), '日本語\n');
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, a lone 0xff.
  const invalid = [
    bytesName('bad-', [0x80], '.txt'),
    bytesName('bad-', [0xe6, 0x97], '-cut'),
    bytesName([0xff]),
  ];
  for (const [i, name] of invalid.entries()) {
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), `invalid ${i}\n`);
  }
  // Order: "a/b" before "a.txt" (the archive walks folders sorted bytewise, depth
  // first), uppercase before lowercase, "a-b" before "a.txt" before "a/".
  mkdirSync(at('a/inner'), { recursive: true });
  writeFileSync(at('a/b'), 'in a\n');
  writeFileSync(at('a/inner/c'), 'deeper\n');
  writeFileSync(at('a.txt'), 'a.txt\n');
  writeFileSync(at('a-b'), 'a-b\n');
  writeFileSync(at('A'), 'upper\n');
  writeFileSync(at('Z'), 'upper z\n');
  mkdirSync(at('empty dir'));
  writeFileSync(at('empty'), '');
  // Same content under several names (stored once), small and large.
  writeFileSync(at('copy1'), 'same\n');
  writeFileSync(at('copy2'), 'same\n');
  const big = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(at('big.bin'), big);
  writeFileSync(at('a/big copy.bin'), big);
  writeFileSync(at('mid.bin'), randomBytes(256 * 1024 + 1));
  writeFileSync(at('edge.bin'), randomBytes(256 * 1024));
  // Long names: past ustar's 100 and 255 bytes.
  const long = 'l'.repeat(150);
  mkdirSync(at(`${long}/${long}`), { recursive: true });
  writeFileSync(at(`${long}/${long}/${'f'.repeat(200)}é`), 'long\n');
  // Links: never followed, recorded by their text.
  symlinkSync('/etc/passwd', at('passwd'));
  symlinkSync('a', at('dir link'));
  symlinkSync('../../..', at('up'));
  symlinkSync('does not exist', at('dangling'));
  symlinkSync(bytesName('tar', [0xff], 'get'), at('bad target'));
  symlinkSync('é', at('non-ascii target'));
  // Hard links, the first name in another folder and a large one.
  writeFileSync(at('first.txt'), 'first\n');
  linkSync(at('first.txt'), at('second.txt'));
  linkSync(at('first.txt'), at('a/third.txt'));
  linkSync(at('big.bin'), at('big hard.bin'));
  // Never opened: a FIFO (would block a plain open), a device, a socket.
  execFileSync('mkfifo', [at('fifo')]);
  execFileSync('mkfifo', [at('a/fifo2')]);
  execFileSync('mknod', [at('null-dev'), 'c', '1', '3']);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(at('sock'), resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  writeFileSync(at('sock-neighbour'), 'beside the socket\n');
  // Hard links to a symlink and to a FIFO: kept as the symlink, skipped as the FIFO.
  linkSync(at('passwd'), at('passwd hard'));
  linkSync(at('fifo'), at('fifo hard'));
  // Two names equal once invalid UTF-8 is replaced, and a hard link to the first: the
  // second name and the link are skipped (the link could mean either file).
  const colliding = [bytesName('inv', [0xfe]), bytesName('inv', [0xff])];
  for (const [i, name] of colliding.entries()) {
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), `colliding ${i}\n`);
  }
  linkSync(Buffer.concat([Buffer.from(`${dir}/`), colliding[0]!]), at('zlink'));
}

describe('collectOutputs from the host folder and from the engine archive', () => {
  const docker = new Docker({ socketPath: loadConfig({ env: {} }).dockerSocket });
  let base: string;
  let dir: string;
  let container: Docker.Container;
  let store: FileBlobStore;
  const noArchive = {
    getArchive: () => Promise.reject(new Error('the host folder was not read')),
  } as unknown as Docker.Container;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'runbox-hostdir-'));
    dir = join(base, 'outputs');
    mkdirSync(dir);
    await hostileFolder(dir);
    container = await docker.createContainer({
      Image: IMAGE,
      Cmd: ['true'],
      NetworkDisabled: true,
      HostConfig: { Mounts: [{ Type: 'bind', Source: dir, Target: '/outputs', ReadOnly: true }] },
    });
    store = await createFileBlobStore(
      loadConfig({ env: {}, overrides: { dataDir: join(base, 'data') } }),
    );
  });
  afterAll(async () => {
    await container?.remove({ force: true });
    rmSync(base, { recursive: true, force: true });
  });

  async function both(limits = LIMITS): Promise<[CollectedOutputs, CollectedOutputs]> {
    const archive = await collectOutputs(container, store, limits);
    const host = await collectOutputs(noArchive, store, limits, { hostDir: dir });
    return [archive, host];
  }

  it('gives the same whole manifest, skipped list and order', async () => {
    const [archive, host] = await both();
    expect(archive.error).toBeNull();
    expect(host).toEqual(archive);
    const paths = host.outputs.map((o) => o.path);
    // What the comparison rests on: the hostile names came out, in the archive's order.
    expect(paths.indexOf('a/b')).toBeLessThan(paths.indexOf('a-b'));
    expect(paths.indexOf('a-b')).toBeLessThan(paths.indexOf('a.txt'));
    expect(paths).toContain('bad-\uFFFD.txt');
    expect(paths).toContain('\uFFFD');
    expect(paths).toContain('sock-neighbour');
    expect(paths).not.toContain('sock');
    expect(paths.some((p) => p.startsWith('dir link/'))).toBe(false);
    expect(host.outputs.find((o) => o.path === 'passwd')).toMatchObject({
      type: 'symlink',
      link_target: '/etc/passwd',
    });
    expect(host.outputs.find((o) => o.path === 'bad target')?.link_target).toBe('tar\uFFFDget');
    const first = host.outputs.find((o) => o.path === 'first.txt')!;
    expect(host.outputs.find((o) => o.path === 'a/third.txt')).toMatchObject({
      type: 'file',
      sha256: first.sha256,
      size: 6,
    });
    expect(host.outputs.find((o) => o.path === 'passwd hard')).toMatchObject({
      type: 'symlink',
      link_target: '/etc/passwd',
    });
    expect(host.outputs.filter((o) => o.path === 'inv\uFFFD')).toEqual([
      expect.objectContaining({ size: 12 }),
    ]);
    expect(paths).not.toContain('zlink');
    expect(host.skipped).toEqual(
      expect.arrayContaining([
        { path: 'fifo hard', reason: 'named pipe' },
        {
          path: 'inv\uFFFD',
          reason: 'another output has the same name once invalid UTF-8 in names is replaced',
        },
        { path: 'zlink', reason: 'hard link to a name two outputs share' },
        { path: 'fifo', reason: 'named pipe' },
        { path: 'a/fifo2', reason: 'named pipe' },
        { path: 'null-dev', reason: 'character device' },
      ]),
    );
  });

  it('stops at the same entry at limits.outputFiles and limits.outputBytes', async () => {
    for (const limits of [
      { files: 7, bytes: 1 << 30 },
      { files: 100_000, bytes: 3 * 1024 * 1024 },
    ]) {
      const [archive, host] = await both(limits);
      expect(archive.error).toMatchObject({ type: 'OutputLimitExceeded' });
      expect(host).toEqual(archive);
    }
  });

  it('reads the archive when the host folder cannot be opened as given (a link to it)', async () => {
    const link = join(base, 'link-to-outputs');
    symlinkSync(dir, link);
    const [archive] = await both();
    const fallback = await collectOutputs(container, store, LIMITS, { hostDir: link });
    expect(fallback).toEqual(archive);
  });

  it('agree on a file emptied since the last read', async () => {
    const emptyFile = join(dir, 'a', 'inner', 'c');
    truncateSync(emptyFile, 0);
    const [archive, host] = await both();
    expect(host).toEqual(archive);
    expect(host.outputs.find((o) => o.path === 'a/inner/c')).toMatchObject({ size: 0 });
  });
});
