import { constants, type Dirent, type ReadStream, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TarEntryType } from './tarReader.js';

/*
 * The host folder runbox bind-mounted at /outputs, read in place of the engine's tar of
 * it (issue 17: dockerd's tar and Node's HTTP read of it were most of the outputs
 * stage's CPU and of the server's RSS). Yields what readTar yields for the same folder,
 * in the same order, so collectOutputs treats both alike:
 * - each folder's names sorted bytewise, depth first (the engine's archive walks with
 *   Go's filepath.Walk); folders themselves are not entries;
 * - names decoded as UTF-8 with U+FFFD for invalid bytes (readTar decodes the archive's
 *   raw-byte names that way), joined with '/';
 * - later names of a hard-linked file as 'link' entries naming the first;
 * - FIFOs and devices as entries without data; sockets not at all (the engine's archive
 *   leaves them out).
 *
 * runbox may run as root over a folder a job wrote: nothing here follows the job's
 * links. Node has no openat, so each folder is opened (O_NOFOLLOW, O_DIRECTORY) and its
 * names are reached through /proc/self/fd/<folder fd>/<name>: only the last name is
 * resolved, with O_NOFOLLOW, inside the folder opened, whatever is renamed meanwhile.
 * Files are opened O_NONBLOCK (a FIFO swapped in cannot block the open) and fstat'ed:
 * anything but the regular file the listing named (same dev and inode when lstat was
 * asked) is reported as changed, never read. No file is read past the size it had
 * when opened. A failure of the walk itself (a folder or file runbox may not read: not
 * root over a job's mode-000 file) throws OutputsDirUnreadable, and the caller reads
 * the engine's archive instead.
 */

/**
 * One output as collectOutputs takes it, from the engine's archive or the host folder.
 * `path` is relative to /outputs; a hard link's `linkname` is its first name's path, a
 * symlink's its target text. `data` is a small file's content whole, `body` a larger
 * one's (read to its end or destroyed before the next item is asked for). 'changed': a
 * name whose file was replaced while the folder was read.
 */
export interface OutputItem {
  path: string;
  type: TarEntryType | 'changed';
  size: number;
  linkname: string;
  data: Buffer | null;
  body: Readable | null;
}

const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Read size of a large file's stream. 1 MiB: fewer thread-pool round trips than 64 KiB
 * (see bench/NOTES.md, Outputs) at 1 MiB held per chunk in flight.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Files of a folder opened (and, when small, read) ahead of the one being yielded:
 * each is three or four thread-pool calls, and one after the other the pool idles.
 */
const READ_AHEAD = 16;

/** The host folder could not be read; the caller falls back to the engine's archive. */
export class OutputsDirUnreadable extends Error {
  constructor(override readonly cause: unknown) {
    super(`reading the outputs folder: ${(cause as Error).message}`);
  }
}

function unreadable(error: unknown): never {
  throw new OutputsDirUnreadable(error);
}

type Kind = OutputItem['type'] | 'socket' | 'changed';

function kindOf(d: Dirent<Buffer> | Stats): Kind | null {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'directory';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO()) return 'fifo';
  if (d.isCharacterDevice()) return 'character-device';
  if (d.isBlockDevice()) return 'block-device';
  if (d.isSocket()) return 'socket';
  return null; // the file system gave no type (DT_UNKNOWN)
}

/** One name of a folder, read as far as can be before its turn comes. */
type Prepared =
  | { kind: 'file'; dev: number; ino: number; nlink: number; size: number; data: Buffer }
  | { kind: 'file'; dev: number; ino: number; nlink: number; size: number; handle: FileHandle }
  | { kind: Exclude<Kind, 'file'> };

async function readWhole(handle: FileHandle, size: number): Promise<Buffer> {
  const data = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await handle.read(data, got, size - got, got);
    if (bytesRead === 0) break; // shrunk since opened: what was read is what is stored
    got += bytesRead;
  }
  return data.subarray(0, got);
}

async function prepareFile(at: Buffer, wholeBytes: number): Promise<Prepared> {
  let handle: FileHandle;
  try {
    handle = await open(at, FILE_FLAGS);
  } catch (error) {
    // A link or something else put in its place since the folder was listed.
    if (['ELOOP', 'ENOENT', 'ENXIO', 'EISDIR'].includes((error as NodeJS.ErrnoException).code!)) {
      return { kind: 'changed' };
    }
    return unreadable(error);
  }
  let keep = false;
  try {
    const st = await handle.stat().catch(unreadable);
    if (!st.isFile()) return { kind: 'changed' };
    const file = {
      kind: 'file' as const,
      dev: st.dev,
      ino: st.ino,
      nlink: st.nlink,
      size: st.size,
    };
    if (st.size > wholeBytes) {
      keep = true;
      return { ...file, handle };
    }
    return { ...file, data: await readWhole(handle, st.size).catch(unreadable) };
  } finally {
    if (!keep) await handle.close().catch(() => {});
  }
}

async function prepare(
  folder: Buffer,
  entry: Dirent<Buffer>,
  wholeBytes: number,
): Promise<Prepared> {
  const at = Buffer.concat([folder, entry.name]);
  let kind = kindOf(entry);
  let expected: { dev: number; ino: number } | null = null;
  if (kind === null) {
    const st = await lstat(at).catch(unreadable);
    kind = kindOf(st);
    expected = { dev: st.dev, ino: st.ino };
  }
  if (kind !== 'file') return { kind: kind ?? 'changed' };
  const file = await prepareFile(at, wholeBytes);
  if (
    expected &&
    file.kind === 'file' &&
    (file.dev !== expected.dev || file.ino !== expected.ino)
  ) {
    if ('handle' in file) await file.handle.close().catch(() => {});
    return { kind: 'changed' };
  }
  return file;
}

/** Closes what prepared names hold open (the walk stopped before their turn). */
async function release(pending: Promise<Prepared>[]): Promise<void> {
  for (const p of pending) {
    const prepared = await p.catch(() => null);
    if (prepared && 'handle' in prepared) await prepared.handle.close().catch(() => {});
  }
}

async function* walkFolder(
  folder: FileHandle,
  prefix: string,
  links: Map<string, string>,
  wholeBytes: number,
): AsyncGenerator<OutputItem> {
  const base = Buffer.from(`/proc/self/fd/${folder.fd}/`);
  const entries = (await readdir(base, { withFileTypes: true, encoding: 'buffer' }).catch(
    unreadable,
  )) as Dirent<Buffer>[];
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  const pending: Promise<Prepared>[] = [];
  let next = 0;
  const fill = () => {
    while (next < entries.length && pending.length < READ_AHEAD) {
      const p = prepare(base, entries[next++]!, wholeBytes);
      p.catch(() => {}); // seen when its turn comes; no unhandled rejection meanwhile
      pending.push(p);
    }
  };
  try {
    for (const entry of entries) {
      fill();
      const prepared = await pending.shift()!;
      const path = prefix + entry.name.toString('utf8');
      switch (prepared.kind) {
        case 'file': {
          const id = `${prepared.dev}:${prepared.ino}`;
          const first = prepared.nlink > 1 ? links.get(id) : undefined;
          if (first !== undefined) {
            if ('handle' in prepared) await prepared.handle.close().catch(() => {});
            yield { path, type: 'link', size: 0, linkname: first, data: null, body: null };
            break;
          }
          if (prepared.nlink > 1) links.set(id, path);
          if ('data' in prepared) {
            yield {
              path,
              type: 'file',
              size: prepared.data.length,
              linkname: '',
              data: prepared.data,
              body: null,
            };
            break;
          }
          const body: ReadStream = prepared.handle.createReadStream({
            start: 0,
            end: prepared.size - 1,
            highWaterMark: READ_CHUNK_BYTES,
          });
          try {
            yield { path, type: 'file', size: prepared.size, linkname: '', data: null, body };
          } finally {
            // Read to its end or not, the handle goes (autoClose closes it on destroy).
            body.destroy();
          }
          break;
        }
        case 'directory': {
          const child = await open(Buffer.concat([base, entry.name]), FOLDER_FLAGS).catch(
            (error: NodeJS.ErrnoException) =>
              error.code === 'ELOOP' || error.code === 'ENOTDIR' || error.code === 'ENOENT'
                ? null
                : unreadable(error),
          );
          if (!child) {
            yield { path, type: 'changed', size: 0, linkname: '', data: null, body: null };
            break;
          }
          try {
            yield* walkFolder(child, `${path}/`, links, wholeBytes);
          } finally {
            await child.close().catch(() => {});
          }
          break;
        }
        case 'symlink': {
          const target = await readlink(Buffer.concat([base, entry.name]), {
            encoding: 'buffer',
          }).catch((error: NodeJS.ErrnoException) =>
            error.code === 'EINVAL' || error.code === 'ENOENT' ? null : unreadable(error),
          );
          yield target
            ? {
                path,
                type: 'symlink',
                size: 0,
                linkname: target.toString('utf8'),
                data: null,
                body: null,
              }
            : { path, type: 'changed', size: 0, linkname: '', data: null, body: null };
          break;
        }
        case 'socket':
          break;
        default:
          yield { path, type: prepared.kind, size: 0, linkname: '', data: null, body: null };
      }
    }
  } finally {
    await release(pending);
  }
}

/**
 * Entries of the host folder `root` in the engine's archive order; files up to
 * `wholeBytes` with their data whole, larger ones with a stream of them that must be read
 * (or left) before the next entry is asked for.
 */
export async function* walkOutputsDir(
  root: string,
  wholeBytes: number,
): AsyncGenerator<OutputItem> {
  const folder = await open(root, FOLDER_FLAGS).catch(unreadable);
  try {
    yield* walkFolder(folder, '', new Map(), wholeBytes);
  } finally {
    await folder.close().catch(() => {});
  }
}
