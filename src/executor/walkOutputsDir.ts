import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { TarEntryType } from './tarReader.js';
import { FileChunks } from './fileChunks.js';

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
 * Read size of a large file's stream. Measured for 1 GiB with a new buffer per read
 * (bench/cpuOutputs.mjs, Node 20, two rounds each at load 9-15): the server's peak RSS
 * 150-154 MiB with 256 KiB, 159-161 with 1 MiB, 165-171 with 4 MiB, and its CPU and the
 * stage's time not told apart; the buffers are now reused (fileChunks.ts). It is also
 * the size the blob store reads blobs back in.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Names are listed, opened, stat'ed and small files read with synchronous calls: each
 * is a few microseconds on a folder the job just wrote (in the page cache), while a
 * thread-pool round trip per call made 9,000 small files take 4-7 times as long on a
 * loaded 2-core machine (bench/NOTES.md, Outputs). The event loop is let run every this
 * many names, so a folder of many files does not hold up the server.
 */
const NAMES_PER_TURN = 256;

/**
 * Nor more than this many bytes of small files read between two turns: 256 files of up
 * to 256 KiB each would be 64 MiB read synchronously, tens of milliseconds from the page
 * cache and more from a disk, with every request of the server waiting.
 */
const BYTES_PER_TURN = 4 * 1024 * 1024;

/**
 * Folders nested deeper are left to the engine's archive: the walk holds one descriptor
 * and one generator per level, and each entry passes up through every level, so a job
 * nesting thousands of folders would cost runbox descriptors and time per entry.
 */
const MAX_DEPTH = 64;

/** The host folder could not be read; the caller falls back to the engine's archive. */
export class OutputsDirUnreadable extends Error {
  constructor(override readonly cause: unknown) {
    super(`reading the outputs folder: ${(cause as Error).message}`);
  }
}

/** Runs a file-system call of the walk; its failure makes the folder unreadable. */
function walkCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new OutputsDirUnreadable(error);
  }
}

/** Codes of a name that is no longer what the listing said (replaced meanwhile). */
const CHANGED = new Set(['ELOOP', 'ENOENT', 'ENOTDIR', 'ENXIO', 'EISDIR', 'EINVAL']);

/** Like walkCall, but null when the name was replaced since it was listed. */
function callUnlessChanged<T>(call: () => T): T | null {
  try {
    return call();
  } catch (error) {
    if (CHANGED.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw new OutputsDirUnreadable(error);
  }
}

type Kind = OutputItem['type'] | 'socket';

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

/** Up to `size` bytes from the start of `fd`; fewer if it shrank since it was stat'ed. */
function readWhole(fd: number, size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const n = walkCall(() => readSync(fd, data, got, size - got, got));
    if (n === 0) break;
    got += n;
  }
  return data.subarray(0, got);
}

const changed = (path: string): OutputItem => ({
  path,
  type: 'changed',
  size: 0,
  linkname: '',
  data: null,
  body: null,
});

interface Walk {
  links: Map<string, string>;
  wholeBytes: number;
  /** Names and small files' bytes since the event loop last ran. */
  names: number;
  bytes: number;
}

/**
 * A regular file at `at` (listed as one, or lstat'ed as `expected`): opened without
 * following a link and without blocking on a FIFO, then fstat'ed, so what is read is
 * the regular file the listing named, never what a swap put there.
 */
function* fileItem(
  at: Buffer,
  path: string,
  expected: Stats | null,
  walk: Walk,
): Generator<OutputItem, void, undefined> {
  const fd = callUnlessChanged(() => openSync(at, FILE_FLAGS));
  if (fd === null) {
    yield changed(path);
    return;
  }
  let keep = false;
  try {
    const st = walkCall(() => fstatSync(fd));
    if (!st.isFile() || (expected && (st.dev !== expected.dev || st.ino !== expected.ino))) {
      yield changed(path);
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? walk.links.get(id) : undefined;
    if (first !== undefined) {
      yield { path, type: 'link', size: 0, linkname: first, data: null, body: null };
      return;
    }
    if (st.nlink > 1) walk.links.set(id, path);
    if (st.size <= walk.wholeBytes) {
      const data = readWhole(fd, st.size);
      walk.bytes += data.length;
      yield { path, type: 'file', size: data.length, linkname: '', data, body: null };
      return;
    }
    // Closed by the stream when it ends or is destroyed.
    const body = new FileChunks(fd, st.size, READ_CHUNK_BYTES);
    keep = true;
    try {
      yield { path, type: 'file', size: st.size, linkname: '', data: null, body };
    } finally {
      body.destroy();
    }
  } finally {
    if (!keep) closeSync(fd);
  }
}

async function* walkFolder(
  folder: number,
  prefix: string,
  depth: number,
  walk: Walk,
): AsyncGenerator<OutputItem> {
  if (depth > MAX_DEPTH) {
    throw new OutputsDirUnreadable(new Error(`folders nested deeper than ${MAX_DEPTH}`));
  }
  const base = Buffer.from(`/proc/self/fd/${folder}/`);
  const entries = walkCall(() =>
    readdirSync(base, { withFileTypes: true, encoding: 'buffer' }),
  ) as Dirent<Buffer>[];
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  for (const entry of entries) {
    if (++walk.names >= NAMES_PER_TURN || walk.bytes >= BYTES_PER_TURN) {
      walk.names = 0;
      walk.bytes = 0;
      await setImmediate();
    }
    const at = Buffer.concat([base, entry.name]);
    const path = prefix + entry.name.toString('utf8');
    let kind = kindOf(entry);
    let expected: Stats | null = null;
    if (kind === null) {
      expected = callUnlessChanged(() => lstatSync(at));
      kind = expected ? kindOf(expected) : null;
      if (kind === null) {
        yield changed(path);
        continue;
      }
    }
    switch (kind) {
      case 'file':
        yield* fileItem(at, path, expected, walk);
        break;
      case 'directory': {
        const child = callUnlessChanged(() => openSync(at, FOLDER_FLAGS));
        if (child === null) {
          yield changed(path);
          break;
        }
        try {
          yield* walkFolder(child, `${path}/`, depth + 1, walk);
        } finally {
          closeSync(child);
        }
        break;
      }
      case 'symlink': {
        const target = callUnlessChanged(() => readlinkSync(at, { encoding: 'buffer' }));
        yield target
          ? {
              path,
              type: 'symlink',
              size: 0,
              linkname: target.toString('utf8'),
              data: null,
              body: null,
            }
          : changed(path);
        break;
      }
      case 'socket':
        break;
      default:
        yield { path, type: kind, size: 0, linkname: '', data: null, body: null };
    }
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
  const folder = walkCall(() => openSync(root, FOLDER_FLAGS));
  try {
    yield* walkFolder(folder, '', 0, { links: new Map(), wholeBytes, names: 0, bytes: 0 });
  } finally {
    closeSync(folder);
  }
}
