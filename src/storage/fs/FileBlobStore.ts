import { createHash } from 'node:crypto';
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
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './privateFiles.js';
import { sweepTempDir, tempFileName, type SweepOptions } from './tempFiles.js';
import type { ZstdCodec } from '../zstd/codec.js';
import { FrameCompressor } from '../zstd/FrameCompressor.js';
import { FrameDecompressor } from '../zstd/FrameDecompressor.js';
import { readFrameIndex } from '../zstd/readFrameIndex.js';
import { selectZstdCodec } from '../zstd/selectCodec.js';

export interface FileBlobStoreOptions {
  dataDir: string;
  codec: ZstdCodec;
  /** Input bytes per frame. @defaultValue 1 MiB (config.zstd.frameBytes) */
  frameBytes: number;
}

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
 * - A put() that finds its blob already stored refreshes the file's mtime, and the
 *   garbage collector never removes a blob written or refreshed within its grace
 *   period; so a job that has just put a blob can still record it afterwards.
 */
export class FileBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly paths: BlobPaths;
  readonly codec: ZstdCodec;
  private readonly frameBytes: number;

  constructor(options: FileBlobStoreOptions) {
    this.paths = blobPaths(options.dataDir);
    this.codec = options.codec;
    this.frameBytes = options.frameBytes;
  }

  async put(source: Readable | Buffer, options: PutOptions = {}): Promise<StoredBlob> {
    const batch = options.batch ? this.ownBatch(options.batch) : null;
    const tempPath = join(this.paths.tmp, tempFileName());
    try {
      const written = Buffer.isBuffer(source)
        ? await this.writeBuffer(source, tempPath, options.maxBytes ?? Infinity, batch === null)
        : await this.writeStream(source, tempPath, options.maxBytes ?? Infinity, batch === null);
      const { sha256, size } = written;
      const finalPath = this.paths.blob(sha256);
      if (batch?.has(sha256)) {
        await unlink(tempPath);
        return written;
      }
      const existing = await this.refresh(finalPath);
      if (existing !== null) {
        await unlink(tempPath);
        return { sha256, size, compressedSize: existing };
      }
      if (batch) {
        batch.add(sha256, tempPath, finalPath);
        return written;
      }
      await mkdir(dirname(finalPath), { recursive: true, mode: PRIVATE_DIR_MODE });
      await rename(tempPath, finalPath);
      // Makes the rename durable: the directory entry itself is flushed.
      await fsyncPath(dirname(finalPath));
      return written;
    } catch (error) {
      await unlink(tempPath).catch(() => undefined);
      throw error;
    }
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

  /** Hash, meter and compress a stream into tempPath; fsynced unless a batch defers it. */
  private async writeStream(
    source: Readable,
    tempPath: string,
    maxBytes: number,
    flush: boolean,
  ): Promise<StoredBlob> {
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(tooLarge(maxBytes));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const file = await this.openTemp(tempPath);
    // The stream owns the handle: fsync (flush) then close when it ends, close on error.
    const out = file.createWriteStream({ flush, highWaterMark: READ_CHUNK_BYTES });
    // On any error pipeline destroys every stream, the source included: reading stops.
    await pipeline(source, meter, this.compressor(), out);
    return { sha256: hash.digest('hex'), size, compressedSize: out.bytesWritten };
  }

  /** The same frames as writeStream, for content already in memory (a small file). */
  private async writeBuffer(
    data: Buffer,
    tempPath: string,
    maxBytes: number,
    flush: boolean,
  ): Promise<StoredBlob> {
    if (data.length > maxBytes) throw tooLarge(maxBytes);
    const frames: Buffer[] = [];
    for (let at = 0; at < data.length || frames.length === 0; at += this.frameBytes) {
      frames.push(this.codec.compressFrame(data.subarray(at, at + this.frameBytes)));
    }
    const compressed = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    const file = await this.openTemp(tempPath);
    try {
      await file.writeFile(compressed);
      if (flush) await file.sync();
    } finally {
      await file.close();
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    return { sha256, size: data.length, compressedSize: compressed.length };
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
    return new FrameCompressor({ codec: this.codec, frameBytes: this.frameBytes });
  }

  async stat(sha256: string): Promise<StoredBlob | null> {
    const file = await this.openFile(sha256).catch((error: unknown) => {
      if (error instanceof RunboxError && error.type === 'NotFound') return null;
      throw error;
    });
    if (!file) return null;
    try {
      const { size: compressedSize } = await file.stat();
      let size = 0;
      for await (const frame of readFrameIndex(file, compressedSize)) {
        if (frame.contentSize === null) {
          throw new RunboxError('Internal', `blob ${sha256} has a frame without a content size`);
        }
        size += frame.contentSize;
      }
      return { sha256, size, compressedSize };
    } finally {
      await file.close();
    }
  }

  /** The file is opened before this resolves: a missing blob rejects with NotFound. */
  async openCompressed(sha256: string): Promise<Readable> {
    checkSha256(sha256);
    const file = await this.openFile(sha256);
    // The stream owns the handle and closes it at its end or when destroyed.
    return file.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
  }

  async openDecompressed(sha256: string, range?: ByteRange): Promise<Readable> {
    checkSha256(sha256);
    if (range) checkRange(range);
    const file = await this.openFile(sha256);
    const stream = Readable.from(this.decode(file, range), { objectMode: false });
    // On 'close', not in the generator's finally: a stream destroyed before its first
    // read never runs the generator's body, and the handle would leak.
    stream.once('close', () => void file.close().catch(() => undefined));
    return stream;
  }

  /**
   * Decoded bytes of an open blob, from range.start to range.end inclusive. Whole frames
   * before the start are skipped by their headers' content sizes without decoding, so a
   * download resumed near the end of a large blob decodes about one frame extra.
   */
  private async *decode(
    file: FileHandle,
    range: { start: number; end: number } | undefined,
  ): AsyncGenerator<Buffer> {
    const start = range?.start ?? 0;
    const end = range?.end ?? Infinity;
    let compressedOffset = 0;
    let position = 0; // uncompressed offset of the next decoded byte
    if (start > 0) {
      const { size: fileSize } = await file.stat();
      for await (const frame of readFrameIndex(file, fileSize)) {
        if (frame.contentSize === null || position + frame.contentSize > start) break;
        position += frame.contentSize;
        compressedOffset += frame.compressedBytes;
      }
    }
    const raw = file.createReadStream({
      start: compressedOffset,
      autoClose: false,
      highWaterMark: READ_CHUNK_BYTES,
    });
    const decoder = new FrameDecompressor({ codec: this.codec });
    raw.once('error', (error) => decoder.destroy(error));
    raw.pipe(decoder);
    try {
      for await (const chunk of decoder as AsyncIterable<Buffer>) {
        const chunkStart = position;
        position += chunk.length;
        if (position <= start) continue;
        const from = Math.max(0, start - chunkStart);
        const to = Math.min(chunk.length, end + 1 - chunkStart);
        if (to > from) yield from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
        if (position > end) return; // stop reading the rest of the file
      }
    } finally {
      raw.unpipe(decoder);
      raw.destroy();
      decoder.destroy();
    }
  }

  private async openFile(sha256: string): Promise<FileHandle> {
    try {
      return await open(this.paths.blob(sha256), 'r');
    } catch (error) {
      if (isNotFound(error)) throw notFound(sha256, error);
      throw error;
    }
  }

  async remove(sha256: string): Promise<void> {
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
    const cutoffMs = Date.now() - graceMs;
    const path = this.paths.blob(sha256);
    try {
      const info = statSync(path);
      if (info.mtimeMs >= cutoffMs) return 0;
      unlinkSync(path);
      return info.size;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  /** Every stored blob, in no particular order; for gc and usage reports. */
  async *list(): AsyncGenerator<BlobEntry> {
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
        if (!isBlobFileName(name)) continue;
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

function tooLarge(maxBytes: number): RunboxError {
  return new RunboxError(
    'OutputLimitExceeded',
    `output is larger than its limit of ${maxBytes} bytes; stopped storing it`,
  );
}

/**
 * Blobs written to blobs/tmp and not yet flushed nor named. commit() keeps the store's
 * invariant (a real name only ever holds a complete, durable blob) with two file-system
 * flushes for the whole batch: the data before any rename, the renames after.
 */
class FileBlobBatch implements BlobBatch {
  private readonly pending = new Map<string, { temp: string; final: string }>();
  private done = false;

  constructor(readonly paths: BlobPaths) {}

  has(sha256: string): boolean {
    return this.pending.has(sha256);
  }

  add(sha256: string, temp: string, final: string): void {
    if (this.done) throw new RunboxError('Internal', 'put into a blob batch already settled');
    this.pending.set(sha256, { temp, final });
  }

  async commit(): Promise<void> {
    this.done = true;
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    try {
      await syncPaths(
        this.paths.tmp,
        entries.map((e) => e.temp),
      );
      const dirs = new Set(entries.map((e) => dirname(e.final)));
      for (const dir of dirs) await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      for (const { temp, final } of entries) await rename(temp, final);
      this.pending.clear();
      await syncPaths(this.paths.root, dirs);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  async discard(): Promise<void> {
    this.done = true;
    const temps = [...this.pending.values()].map((e) => e.temp);
    this.pending.clear();
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
  }
}

function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RunboxError(
      'InvalidSpec',
      `range: start ${start} and end ${end} must be integers with 0 <= start <= end`,
      { field: 'range' },
    );
  }
}

/**
 * The store config asks for: codec chosen by config.zstd (see selectZstdCodec), folders
 * created, and temp files of crashed runs swept. Call once at startup.
 */
export async function createFileBlobStore(
  config: Pick<Config, 'dataDir' | 'zstd'>,
): Promise<FileBlobStore> {
  const codec = await selectZstdCodec(config.zstd);
  const store = new FileBlobStore({
    dataDir: config.dataDir,
    codec,
    frameBytes: config.zstd.frameBytes,
  });
  await mkdir(store.paths.tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(store.paths.root, PRIVATE_DIR_MODE);
  await store.sweepTempFiles();
  return store;
}
