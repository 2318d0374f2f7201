import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { OutputEntry, SkippedOutput } from '../contract/resultSchema.js';
import { RunboxError, toRunboxError } from '../errors/index.js';
import type { BlobBatch, BlobStore, StoredBlob } from '../storage/BlobStore.js';
import { OUTPUTS_DIR } from './containerConfig.js';
import { engineStatus, toEngineError } from './engineErrors.js';
import { readTar } from './tarReader.js';
import { OutputsDirUnreadable, walkOutputsDir, type OutputItem } from './walkOutputsDir.js';

export interface OutputLimits {
  /** Entries (files and symlinks) kept: the job's limits.output_files, else config.limits.outputFiles. */
  files: number;
  /** Uncompressed bytes kept: the job's limits.output_bytes, else config.limits.outputBytes. */
  bytes: number;
}

export interface CollectedOutputs {
  /** What was stored, in archive order; kept even when collection stopped early. */
  outputs: OutputEntry[];
  skipped: SkippedOutput[];
  /** OutputLimitExceeded, or whatever else stopped collection; null when all came out. */
  error: RunboxError | null;
}

/**
 * Files up to this size are read whole and stored from memory: for thousands of small
 * outputs the per-file stream pipeline, not the bytes, is what costs.
 */
const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Small files stored at once while the archive is read on. Each put is a few file-system
 * calls (temp file open, write, close, a stat for dedup) that wait on libuv's thread pool;
 * one after the other, the pool sits mostly idle and the archive waits. 16 keeps the
 * pool's 4 threads busy with at most 16 x 256 KiB held in memory.
 */
const PUTS_IN_FLIGHT = 16;

const SKIP_REASONS: Record<string, string> = {
  fifo: 'named pipe',
  'character-device': 'character device',
  'block-device': 'block device',
  changed: 'changed while the outputs were collected',
};

/** "outputs/a/b.txt" -> "a/b.txt"; the archive's top folder is the requested one. */
function relativeName(name: string): string {
  const parts = posix
    .normalize(name)
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  return parts.slice(1).join('/');
}

/**
 * A failure of runbox's own disk while storing (ENOSPC on the data dir, EIO...), not of
 * the engine: it carries an errno code and a syscall, and no HTTP status. Named as a
 * store failure so a full data disk is not reported as "Docker engine error".
 */
function isLocalFsError(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; statusCode?: unknown } | null;
  return (
    typeof e?.code === 'string' &&
    typeof e.syscall === 'string' &&
    e.syscall !== 'connect' &&
    e.statusCode === undefined &&
    /^E[A-Z]+$/.test(e.code) &&
    !['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code)
  );
}

/** What stopped a collection, named for whose fault it was. */
function collectionError(caught: unknown): RunboxError {
  return caught instanceof RunboxError
    ? caught
    : isLocalFsError(caught)
      ? new RunboxError(
          'Internal',
          `storing outputs in the blob store failed: ${(caught as Error).message}`,
          { field: 'outputs', cause: caught },
        )
      : toRunboxError(toEngineError(caught, 'collecting outputs'));
}

/** A name met while collecting: what it was kept as (and the bytes it counted), or why not. */
interface Kept {
  kept: OutputEntry | PendingFile;
  size: number;
}
type Named = Kept | { skip: string };

const SKIP_DUPLICATE = 'another output has the same name once invalid UTF-8 in names is replaced';
const SKIP_LINK_TO_DUPLICATE = 'hard link to a name two outputs share';

/** A small file whose put is still running. */
interface PendingFile {
  path: string;
  put: Promise<StoredBlob>;
}

function fileEntry(path: string, stored: StoredBlob): OutputEntry {
  return {
    path,
    type: 'file',
    size: stored.size,
    sha256: stored.sha256,
    compressed_size: stored.compressedSize,
    link_target: null,
  };
}

// Named by the job's own field (what a client can change), as the running watchdog's are.
function limitError(message: string, field: 'output_files' | 'output_bytes'): RunboxError {
  return new RunboxError(
    'OutputLimitExceeded',
    `${message}. Ask for a larger limits.${field}, up to the server's ceiling`,
    { field: `limits.${field}` },
  );
}

/** The engine's tar of /outputs (GET .../archive) as output items. */
async function* archiveItems(archive: AsyncIterable<Buffer>): AsyncGenerator<OutputItem> {
  for await (const { header, data, body } of readTar(archive, SMALL_FILE_BYTES)) {
    const path = relativeName(header.name);
    if (path === '' || header.type === 'directory') continue;
    yield {
      path,
      type: header.type,
      size: header.size,
      linkname: header.type === 'link' ? relativeName(header.linkname) : header.linkname,
      data,
      body: body ? Readable.from(body) : null,
    };
  }
}

export interface CollectOptions {
  /** Blobs' durability is deferred to it; the caller commits it before naming them. */
  batch?: BlobBatch;
  /**
   * The host folder bind-mounted at /outputs, when runbox sees the one the engine
   * mounted; read in place of the engine's archive of it (see walkOutputsDir.ts).
   */
  hostDir?: string | null;
}

/**
 * Collects /outputs of a stopped container into the blob store: from the host folder
 * when `hostDir` is given and readable (walkOutputsDir.ts), else from the engine's
 * archive (getArchive -> readTar, tarReader.ts). One BlobStore.put per file, hashed
 * while it streams, nothing but small files held whole. Symlinks are recorded by their
 * target text and never read through; every name of a hard-linked file is recorded as a
 * regular file with its content (stored once); FIFOs and devices are listed as skipped.
 * Beyond the file or byte limit it stops with OutputLimitExceeded and keeps the
 * manifest of what was already stored.
 *
 * A host folder runbox cannot read (not root, and the job left a file only its own uid
 * may read; folders nested too deep) is given up wherever the walk was, and the archive is read from its start:
 * the manifest is built anew; blobs already put are content-addressed, so putting them
 * again (into the same batch too) stores nothing twice.
 */
export async function collectOutputs(
  container: Docker.Container,
  store: BlobStore,
  limits: OutputLimits,
  options: CollectOptions = {},
): Promise<CollectedOutputs> {
  const { batch, hostDir } = options;
  if (hostDir) {
    try {
      return await collectItems(walkOutputsDir(hostDir, SMALL_FILE_BYTES), store, limits, batch);
    } catch (error) {
      if (!(error instanceof OutputsDirUnreadable)) throw error;
    }
  }
  let archive: NodeJS.ReadableStream & { destroy?: (error?: Error) => void };
  try {
    archive = await container.getArchive({ path: OUTPUTS_DIR });
  } catch (error) {
    if (engineStatus(error) === 404) return { outputs: [], skipped: [], error: null };
    return { outputs: [], skipped: [], error: toEngineError(error, 'reading /outputs') };
  }
  try {
    return await collectItems(archiveItems(archive as AsyncIterable<Buffer>), store, limits, batch);
  } finally {
    archive.destroy?.();
  }
}

/**
 * The per-entry work of collectOutputs, whichever source the items come from. Rethrows
 * OutputsDirUnreadable (after the puts it started settled) for the caller to fall back.
 */
async function collectItems(
  items: AsyncIterable<OutputItem>,
  store: BlobStore,
  limits: OutputLimits,
  batch: BlobBatch | undefined,
): Promise<CollectedOutputs> {
  // Entries in archive order; a small file's is its name and its put, made an entry once
  // the put resolves (no promise chained per file while the archive is read).
  const ordered: (OutputEntry | PendingFile)[] = [];
  const skipped: SkippedOutput[] = [];
  // Every name met so far, for the hard links that name it later.
  const byPath = new Map<string, Named>();
  // Small files with the same content are stored once (the batch would drop the copy).
  const bySha = new Map<string, Promise<StoredBlob>>();
  const puts = new PutsInFlight(PUTS_IN_FLIGHT);
  let bytes = 0;
  let error: RunboxError | null = null;
  const skip = (path: string, reason: string) => {
    skipped.push({ path, reason });
    byPath.set(path, { skip: reason });
  };
  try {
    for await (const item of items) {
      if (puts.failure) break;
      const { path, type } = item;
      if (byPath.has(path)) {
        // Two names that differ only in invalid UTF-8 decode to the same path: the
        // first is kept, and a hard link naming it could mean either, so none is
        // resolved (it would get the wrong file's content half the time).
        skipped.push({ path, reason: SKIP_DUPLICATE });
        byPath.set(path, { skip: SKIP_LINK_TO_DUPLICATE });
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file' && type !== 'symlink' && type !== 'link') {
        skip(path, SKIP_REASONS[type] ?? `unsupported entry type ${type}`);
        continue;
      }
      // A hard link: the content comes once, under the name met first, and later names
      // point at it. Each later name is kept as what the first was (a regular file with
      // the same content, stored once, or the same symlink) and counts toward the
      // limits as a copy would; the link itself is not made. A link to a FIFO or a
      // device is skipped as it was (the host folder lists it as one itself).
      let first: Kept | undefined;
      if (type === 'link') {
        const named = byPath.get(item.linkname);
        if (!named || 'skip' in named) {
          skip(path, named?.skip ?? 'hard link to a file that was not stored');
          continue;
        }
        first = named;
      }
      if (ordered.length >= limits.files) {
        error = limitError(
          `more than ${limits.files} output files (limits.output_files); stopped at ${path}`,
          'output_files',
        );
        break;
      }
      const left = limits.bytes - bytes;
      const size = first ? first.size : item.size;
      if (type !== 'symlink' && size > left) {
        error = limitError(
          `outputs exceed ${limits.bytes} bytes (limits.output_bytes); stopped at ${path} (${size} bytes)`,
          'output_bytes',
        );
        break;
      }
      if (first) {
        // If the first name's put fails, the gathering below stops there, before this.
        bytes += first.size;
        ordered.push({ ...first.kept, path });
        byPath.set(path, first);
        continue;
      }
      if (type === 'symlink') {
        const link: OutputEntry = {
          path,
          type: 'symlink',
          size: 0,
          sha256: null,
          compressed_size: null,
          link_target: item.linkname,
        };
        ordered.push(link);
        byPath.set(path, { kept: link, size: 0 });
        continue;
      }
      let file: OutputEntry | PendingFile;
      let stored: number;
      if (item.data) {
        // Whole in memory: hashed here once (the store takes the hash), stored while the
        // next entries are read.
        const data = item.data;
        stored = data.length;
        const sha256 = createHash('sha256').update(data).digest('hex');
        let put = bySha.get(sha256);
        if (!put) {
          put = store.put(data, { maxBytes: left, sha256, ...(batch ? { batch } : {}) });
          bySha.set(sha256, put);
          puts.add(put);
        }
        // A failure is seen by `puts` at once (no unhandled rejection) and where the
        // entries are gathered.
        file = { path, put };
        if (puts.full) await puts.room();
      } else {
        const blob = await store.put(item.body!, {
          maxBytes: left,
          ...(batch ? { batch } : {}),
        });
        stored = blob.size;
        file = fileEntry(path, blob);
      }
      bytes += stored;
      ordered.push(file);
      byPath.set(path, { kept: file, size: stored });
    }
  } catch (caught) {
    if (caught instanceof OutputsDirUnreadable) {
      await puts.settled();
      throw caught;
    }
    error = collectionError(caught);
  }
  // What was stored, in archive order, up to the first file that could not be.
  const outputs: OutputEntry[] = [];
  for (const file of ordered) {
    try {
      outputs.push('put' in file ? fileEntry(file.path, await file.put) : file);
    } catch (caught) {
      error ??= collectionError(caught);
      break;
    }
  }
  await puts.settled();
  if (puts.failure && !error) error = collectionError(puts.failure.error);
  return { outputs, skipped, error };
}

/**
 * Puts still running, at most `limit` at once: a counter and one waiter, not a
 * Promise.race over the whole set per file (which attaches a handler to every pending
 * put each time).
 */
class PutsInFlight {
  private count = 0;
  private wake: (() => void) | null = null;
  private idle: (() => void) | null = null;
  failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.count >= this.limit;
  }

  add(put: Promise<unknown>): void {
    this.count += 1;
    put.then(
      () => this.done(),
      (failure: unknown) => {
        this.failure ??= { error: failure };
        this.done();
      },
    );
  }

  private done(): void {
    this.count -= 1;
    const wake = this.wake;
    this.wake = null;
    wake?.();
    if (this.count === 0) this.idle?.();
  }

  /** Resolves once fewer than `limit` are running. */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Resolves once none is running. */
  settled(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }
}
