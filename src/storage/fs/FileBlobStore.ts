import { statSync, unlinkSync } from 'node:fs';
import {
  chmod,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../../config.js';
import { RunboxError } from '../../errors/index.js';
import type {
  BlobBatch,
  BlobEntry,
  BlobStore,
  ByteRange,
  PutOptions,
  StoredBlob,
} from '../BlobStore.js';
import {
  blobPaths,
  checkSha256,
  isBlobFileName,
  isFanOutDir,
  type BlobPaths,
} from './blobPaths.js';
import { fsyncPath, syncPaths } from './fsyncBatch.js';
import { PackIndex, type Pack, type PackWriter } from './packs.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './privateFiles.js';
import { sweepTempDir, tempFileName, type SweepOptions } from './tempFiles.js';
import {
  checkRange,
  contentSizeOf,
  decodeRange,
  frameBuffer,
  frameCompressor,
  writeFramed,
  type FrameFormat,
  type FramedSource,
} from '../framedBlob.js';
import type { ZstdCodec } from '../zstd/codec.js';
import type { FrameCompressor } from '../zstd/FrameCompressor.js';
import { selectZstdCodec, type ZstdOptions } from '../zstd/selectCodec.js';

export interface FileBlobStoreOptions {
  dataDir: string;
  codec: ZstdCodec;
  /** Input bytes per frame. @defaultValue 1 MiB (config.zstd.frameBytes) */
  frameBytes: number;
  /**
   * Batched puts of in-memory content go into one pack file per batch (see packs.ts)
   * instead of a file each. Off for a store whose callers read blob files by path (the
   * S3 store's cache). @defaultValue false
   */
  packSmallBlobs?: boolean;
}

/** Compressed size up to which a batched in-memory put is packed. */
const PACK_BLOB_BYTES = 1024 * 1024;
/** Up to this many files a batch fsyncs each (in parallel) rather than run syncfs. */
const FSYNC_EACH_MAX = 16;

const READ_CHUNK_BYTES = 256 * 1024;

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

function notFound(sha256: string, cause?: unknown): RunboxError {
  return new RunboxError('NotFound', `no blob ${sha256} in the store`, { field: 'sha256', cause });
}

/**
 * Content-addressed blobs on the local file system, each kept as a sequence of
 * independent zstd frames (see zstd/FrameCompressor.ts).
 *
 * Invariants:
 * - A name under blobs/ab/ only ever holds a complete blob whose uncompressed sha256 is
 *   that name: writes go to blobs/tmp/, are fsynced, then renamed.
 * - A put() that finds its blob already stored refreshes the file's mtime (a batched put
 *   does so at commit, by renaming its durable copy over the stored one), and the
 *   garbage collector never removes a blob written or refreshed within its grace
 *   period; so a job that has just put a blob can still record it afterwards.
 */
export class FileBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly paths: BlobPaths;
  readonly codec: ZstdCodec;
  private readonly format: FrameFormat;
  /** Packed blobs' places (null: this store writes no packs and reads none). */
  readonly packs: PackIndex | null;
  private packsRead: Promise<void> | null = null;

  constructor(options: FileBlobStoreOptions) {
    this.paths = blobPaths(options.dataDir);
    this.codec = options.codec;
    this.format = { codec: options.codec, frameBytes: options.frameBytes };
    this.packs = options.packSmallBlobs
      ? new PackIndex(join(this.paths.root, 'packs'), this.paths.tmp)
      : null;
  }

  /** The pack index, with every pack on disk read at least once. */
  private async packIndex(): Promise<PackIndex | null> {
    if (!this.packs) return null;
    this.packsRead ??= this.packs.scan().catch((error: unknown) => {
      this.packsRead = null;
      throw error;
    });
    await this.packsRead;
    return this.packs;
  }

  async put(source: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    const batch = options.batch ? this.ownBatch(options.batch) : null;
    const maxBytes = options.maxBytes ?? Infinity;
    if (batch && Buffer.isBuffer(source) && this.packs) {
      const framed = frameBuffer(source, this.format, maxBytes, options.sha256);
      if (framed.compressed.length <= PACK_BLOB_BYTES) return this.putPacked(framed, batch);
    }
    const tempPath = join(this.paths.tmp, tempFileName());
    try {
      const written = Buffer.isBuffer(source)
        ? await this.writeBuffer(source, tempPath, maxBytes, batch === null, options.sha256)
        : await this.writeStream(source, tempPath, maxBytes, batch === null);
      const { sha256, size } = written;
      const finalPath = this.paths.blob(sha256);
      if (batch?.has(sha256) || batch?.packWriter?.has(sha256)) {
        await unlink(tempPath);
        return written;
      }
      if (batch) {
        // No existence probe here: commit renames over a blob already stored, which is
        // its refresh (same content, fresh mtime) and costs nothing more than the rename
        // commit does anyway; a probe per put was a failing syscall per new small file.
        batch.add(sha256, tempPath, finalPath);
        return written;
      }
      const existing = (await this.refreshPacked(sha256, null)) ?? (await this.refresh(finalPath));
      if (existing !== null) {
        await unlink(tempPath);
        return { sha256, size, compressedSize: existing };
      }
      await renameIntoPlace(tempPath, finalPath);
      // Makes the rename durable: the directory entry itself is flushed.
      await fsyncPath(dirname(finalPath));
      return written;
    } catch (error) {
      await unlink(tempPath).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A small batched blob: appended to the batch's pack unless the batch or a pack holds
   * it already (then that pack is refreshed, once per batch).
   */
  private async putPacked(
    framed: { sha256: string; size: number; compressed: Buffer },
    batch: FileBlobBatch,
  ): Promise<StoredBlob> {
    const { sha256, size, compressed } = framed;
    const stored = { sha256, size, compressedSize: compressed.length };
    const writer = batch.packFor(this.packs!);
    if (writer.has(sha256) || batch.has(sha256)) return stored;
    const existing = await this.refreshPacked(sha256, batch);
    if (existing !== null) return { sha256, size, compressedSize: existing };
    // A put of the same bytes may have appended them while this one waited.
    if (!writer.has(sha256)) await writer.append(sha256, compressed);
    return stored;
  }

  /**
   * Refreshes the pack holding sha256 (see PackIndex.refresh); its stored size, or null
   * when no pack holds it. A batch refreshes each pack once.
   */
  private async refreshPacked(sha256: string, batch: FileBlobBatch | null): Promise<number | null> {
    const packs = await this.packIndex();
    const found = packs?.find(sha256);
    if (!packs || !found) return null;
    if (batch?.refreshed.has(found.pack)) return found.length;
    if (!(await packs.refresh(found))) return null;
    batch?.refreshed.add(found.pack);
    return found.length;
  }

  /** A new temp file; blobs/tmp is made again if something removed it. */
  private async openTemp(tempPath: string): Promise<FileHandle> {
    try {
      return await open(tempPath, 'wx', PRIVATE_FILE_MODE);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await mkdir(this.paths.tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
      return await open(tempPath, 'wx', PRIVATE_FILE_MODE);
    }
  }

  /** writeFile to a new temp file ('wx': never over another); blobs/tmp made again if gone. */
  private async writeTempFile(tempPath: string, data: Buffer): Promise<void> {
    const options = { flag: 'wx', mode: PRIVATE_FILE_MODE } as const;
    try {
      await writeFile(tempPath, data, options);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await mkdir(this.paths.tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeFile(tempPath, data, options);
    }
  }

  /** Hash, meter and compress a stream into tempPath; fsynced unless a batch defers it. */
  private async writeStream(
    source: Readable,
    tempPath: string,
    maxBytes: number,
    flush: boolean,
  ): Promise<StoredBlob> {
    const file = await this.openTemp(tempPath);
    // The stream owns the handle: fsync (flush) then close when it ends, close on error.
    const out = file.createWriteStream({ flush, highWaterMark: READ_CHUNK_BYTES });
    // On any error pipeline destroys every stream, the source included: reading stops.
    const { sha256, size } = await writeFramed(source, out, this.format, maxBytes);
    return { sha256, size, compressedSize: out.bytesWritten };
  }

  /** The same frames as writeStream, for content already in memory (a small file). */
  private async writeBuffer(
    data: Buffer,
    tempPath: string,
    maxBytes: number,
    flush: boolean,
    knownSha256: string | undefined,
  ): Promise<StoredBlob> {
    const { sha256, size, compressed } = frameBuffer(data, this.format, maxBytes, knownSha256);
    if (!flush) {
      // A batch flushes later with one syncfs: one writeFile call, no handle kept here.
      await this.writeTempFile(tempPath, compressed);
      return { sha256, size, compressedSize: compressed.length };
    }
    const file = await this.openTemp(tempPath);
    try {
      await file.writeFile(compressed);
      await file.sync();
    } finally {
      await file.close();
    }
    return { sha256, size, compressedSize: compressed.length };
  }

  beginBatch(): BlobBatch {
    return new FileBlobBatch(this.paths);
  }

  private ownBatch(batch: BlobBatch): FileBlobBatch {
    if (!(batch instanceof FileBlobBatch) || batch.paths !== this.paths) {
      throw new RunboxError('Internal', 'a blob batch was used with a store it was not begun on');
    }
    return batch;
  }

  /**
   * Marks an already stored blob as just written (mtime = now) so the garbage collector's
   * grace period covers it; its size on disk, or null if it is not stored.
   */
  private async refresh(path: string): Promise<number | null> {
    const now = new Date();
    try {
      await utimes(path, now, now);
      return (await stat(path)).size;
    } catch (error) {
      // Also the case where gc removed it between our calls: we store our copy instead.
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** A fresh Transform writing this store's frame format (used for tar.zst downloads). */
  compressor(): FrameCompressor {
    return frameCompressor(this.format);
  }

  async stat(sha256: string): Promise<StoredBlob | null> {
    const file = await this.openFile(sha256).catch((error: unknown) => {
      if (error instanceof RunboxError && error.type === 'NotFound') return null;
      throw error;
    });
    if (!file) return null;
    try {
      const source = framedSource(file);
      const size = await contentSizeOf(source, sha256);
      return { sha256, size, compressedSize: source.compressedSize };
    } finally {
      await file.handle.close();
    }
  }

  /** The file is opened before this resolves: a missing blob rejects with NotFound. */
  async openCompressed(sha256: string): Promise<Readable> {
    checkSha256(sha256);
    const { handle, offset, length } = await this.openFile(sha256);
    // The stream owns the handle and closes it at its end or when destroyed.
    return handle.createReadStream({
      start: offset,
      end: offset + length - 1,
      highWaterMark: READ_CHUNK_BYTES,
    });
  }

  async openDecompressed(sha256: string, range?: ByteRange): Promise<Readable> {
    checkSha256(sha256);
    if (range) checkRange(range);
    const file = await this.openFile(sha256);
    const source = framedSource(file);
    const stream = Readable.from(decodeRange(source, this.codec, range), { objectMode: false });
    // On 'close', not in the generator's finally: a stream destroyed before its first
    // read never runs the generator's body, and the handle would leak.
    stream.once('close', () => void file.handle.close().catch(() => undefined));
    return stream;
  }

  /**
   * The blob's bytes: in a pack this process knows, else its own file, else in a pack
   * another process wrote since (the packs folder is read again before NotFound).
   */
  private async openFile(sha256: string): Promise<OpenBlob> {
    const packs = await this.packIndex();
    const packed = packs ? await openPacked(packs, sha256) : null;
    if (packed) return packed;
    try {
      const handle = await open(this.paths.blob(sha256), 'r');
      try {
        return { handle, offset: 0, length: (await handle.stat()).size };
      } catch (error) {
        await handle.close();
        throw error;
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (packs) {
        await packs.scan();
        const found = await openPacked(packs, sha256, true);
        if (found) return found;
      }
      throw notFound(sha256, error);
    }
  }

  async remove(sha256: string): Promise<void> {
    checkSha256(sha256);
    (await this.packIndex())?.removeIfIdle(sha256, null);
    try {
      await unlink(this.paths.blob(sha256));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /**
   * Removes the blob only if it was not written or refreshed within the last `graceMs`;
   * returns the bytes freed, 0 if it was kept or missing. The check and the unlink are
   * synchronous on purpose: no put() of this process can refresh the blob between them
   * (see refresh()).
   */
  async removeIfIdle(sha256: string, graceMs: number): Promise<number> {
    const path = this.paths.blob(sha256);
    const packs = await this.packIndex();
    const cutoffMs = Date.now() - graceMs;
    let loose: { mtimeMs: number; size: number } | null = null;
    try {
      loose = statSync(path);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    // A blob stored both packed and as its own file goes only when both copies are idle.
    if (loose && loose.mtimeMs >= cutoffMs) return 0;
    const packed = packs ? packs.removeIfIdle(sha256, cutoffMs) : 0;
    if (packed === null) return 0;
    if (!loose) return packed;
    try {
      unlinkSync(path);
      return packed + loose.size;
    } catch (error) {
      if (isNotFound(error)) return packed;
      throw error;
    }
  }

  /** Every stored blob, in no particular order; for gc and usage reports. */
  async *list(): AsyncGenerator<BlobEntry> {
    // Packed blobs first: a blob also stored as its own file is then listed once.
    const packed = new Set<string>();
    const packs = await this.packIndex();
    if (packs) {
      for await (const { sha256, length, writtenAt } of packs.entries()) {
        packed.add(sha256);
        yield { sha256, compressedSize: length, writtenAt };
      }
    }
    let dirs: string[];
    try {
      dirs = await readdir(this.paths.root);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const dir of dirs.filter(isFanOutDir).sort()) {
      let names: string[];
      try {
        names = await readdir(join(this.paths.root, dir));
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      for (const name of names) {
        if (!isBlobFileName(name) || packed.has(dir + name)) continue;
        try {
          const info = await stat(join(this.paths.root, dir, name));
          yield { sha256: dir + name, compressedSize: info.size, writtenAt: info.mtimeMs };
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }

  /** Number of blobs and their bytes on disk. */
  async usage(): Promise<{ blobs: number; compressedBytes: number }> {
    let blobs = 0;
    let compressedBytes = 0;
    for await (const entry of this.list()) {
      blobs += 1;
      compressedBytes += entry.compressedSize;
    }
    return { blobs, compressedBytes };
  }

  /** Nothing to release: every handle belongs to one call or one stream. */
  async close(): Promise<void> {}

  /** Removes temp files a crashed put left behind (see tempFiles.ts for which). */
  sweepTempFiles(options?: SweepOptions): Promise<{ removedFiles: number; freedBytes: number }> {
    return sweepTempDir(this.paths.tmp, options);
  }
}

/**
 * Blobs written to blobs/tmp and not yet flushed nor named, and small ones in the
 * batch's pack. commit() keeps the store's invariant (a real name only ever holds a
 * complete, durable blob): for files, two flushes for the whole batch (the data before
 * any rename, the renames after); for the pack, its fsync, rename and folder fsync.
 */
class FileBlobBatch implements BlobBatch {
  private readonly pending = new Map<string, { temp: string; final: string }>();
  private done = false;
  packWriter: PackWriter | null = null;
  /** Packs this batch's puts found their blobs in and refreshed. */
  readonly refreshed = new Set<Pack>();

  constructor(readonly paths: BlobPaths) {}

  packFor(packs: PackIndex): PackWriter {
    if (this.done) throw new RunboxError('Internal', 'put into a blob batch already settled');
    this.packWriter ??= packs.writer();
    return this.packWriter;
  }

  has(sha256: string): boolean {
    return this.pending.has(sha256);
  }

  add(sha256: string, temp: string, final: string): void {
    if (this.done) throw new RunboxError('Internal', 'put into a blob batch already settled');
    this.pending.set(sha256, { temp, final });
  }

  async commit(): Promise<void> {
    this.done = true;
    try {
      await Promise.all([this.packWriter?.commit(), this.commitFiles()]);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  private async commitFiles(): Promise<void> {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    {
      await syncMany(
        this.paths.tmp,
        entries.map((e) => e.temp),
      );
      const dirs = new Set(entries.map((e) => dirname(e.final)));
      // Renames run a few at a time: one by one each waits a full round trip to the
      // thread pool, all at once would queue thousands of requests ahead of other I/O.
      await forEachConcurrently(entries, RENAME_CONCURRENCY, ({ temp, final }) =>
        renameIntoPlace(temp, final),
      );
      this.pending.clear();
      await syncMany(this.paths.root, dirs);
    }
  }

  async discard(): Promise<void> {
    this.done = true;
    const temps = [...this.pending.values()].map((e) => e.temp);
    this.pending.clear();
    const writer = this.packWriter;
    this.packWriter = null;
    await Promise.all([writer?.discard(), ...temps.map((t) => unlink(t).catch(() => undefined))]);
  }
}

/**
 * A few paths are fsynced each, in parallel: cheaper than syncfs, which spawns `sync`
 * and flushes everything dirty on the file system (other writers' data too). Many go
 * through syncfs (see fsyncBatch.ts).
 */
async function syncMany(fileSystemOf: string, paths: Iterable<string>): Promise<void> {
  const list = [...paths];
  if (list.length <= FSYNC_EACH_MAX) await Promise.all(list.map((path) => fsyncPath(path)));
  else await syncPaths(fileSystemOf, list);
}

/** Renames in flight at once during a batch commit (libuv's pool has 4 threads by default). */
const RENAME_CONCURRENCY = 16;

/**
 * rename(2) of a complete temp file to its blob name, over a copy already there (same
 * content). The fan-out folder is made only when the rename finds it missing, so a
 * commit costs one call per blob, not a mkdir as well.
 */
async function renameIntoPlace(temp: string, final: string): Promise<void> {
  try {
    await rename(temp, final);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // ENOENT is the folder missing, or the temp file gone; the retry tells them apart.
    await mkdir(dirname(final), { recursive: true, mode: PRIVATE_DIR_MODE });
    await rename(temp, final);
  }
}

async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  action: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      // One failure stops every lane: the caller discards the batch at once.
      await action(item).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** An open blob: its own file (offset 0), or its stretch of a pack. */
interface OpenBlob {
  handle: FileHandle;
  offset: number;
  length: number;
}

/** The packed blob opened, or null when no pack this process knows holds it. */
async function openPacked(
  packs: PackIndex,
  sha256: string,
  recheck = false,
): Promise<OpenBlob | null> {
  const found = recheck ? packs.findAgain(sha256) : packs.find(sha256);
  if (!found) return null;
  try {
    return { handle: await open(found.pack.path, 'r'), offset: found.offset, length: found.length };
  } catch (error) {
    if (!isNotFound(error)) throw error;
    packs.drop(found.pack); // gc of another process took the pack
    return null;
  }
}

/** A blob as framedBlob reads it. */
function framedSource({ handle, offset, length }: OpenBlob): FramedSource {
  return {
    compressedSize: length,
    read: (buffer, at, count, position) =>
      handle.read(buffer, at, Math.min(count, Math.max(0, length - position)), offset + position),
    streamFrom: (start) =>
      start >= length
        ? Readable.from([])
        : handle.createReadStream({
            start: offset + start,
            end: offset + length - 1,
            autoClose: false,
            highWaterMark: READ_CHUNK_BYTES,
          }),
  };
}

/**
 * The store config asks for: codec chosen by config.zstd (see selectZstdCodec), folders
 * created, and temp files of crashed runs swept. Call once at startup. Packs are off
 * unless asked for: the S3 store's cache reads its blobs' files by path.
 */
export async function createFileBlobStore(
  config: Pick<Config, 'dataDir'> & { zstd: ZstdOptions },
  options: Pick<FileBlobStoreOptions, 'packSmallBlobs'> = {},
): Promise<FileBlobStore> {
  const codec = await selectZstdCodec(config.zstd);
  const store = new FileBlobStore({
    dataDir: config.dataDir,
    codec,
    frameBytes: config.zstd.frameBytes,
    packSmallBlobs: options.packSmallBlobs ?? false,
  });
  await mkdir(store.paths.tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (store.packs) await mkdir(store.packs.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(store.paths.root, PRIVATE_DIR_MODE);
  await store.sweepTempFiles();
  return store;
}
