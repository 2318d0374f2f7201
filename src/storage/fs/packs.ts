import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RunboxError } from '../../errors/index.js';
import { fsyncPath } from './fsyncBatch.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './privateFiles.js';
import { tempFileName } from './tempFiles.js';

/*
 * Packs: many small blobs of one batch in one file, so a job's thousands of small
 * outputs cost one write, one fsync and one rename instead of a file, a rename and a
 * directory entry each (issue 17: 9,000 files of 0.9 KiB).
 *
 * A pack is `blobs/packs/<32 hex>.pack`:
 *   [blob 0's zstd frames][blob 1's]...[index: per blob 32 B sha256, 8 B offset, 4 B length]
 *   [trailer, 32 B: "RBXPACK1", u32 count, u32 0, u64 index offset, first 8 B of the
 *    index's sha256]
 * It is written in blobs/tmp under a temp name, fsynced, then renamed into packs/ and the
 * folder fsynced: a name in packs/ only ever holds a complete, durable pack, and a crash
 * before the rename leaves a temp file the startup sweep removes. The index lives in the
 * pack itself (no database table): each process reads the trailers at first use and
 * again when a key is missing, so packs another process wrote are found.
 *
 * A packed blob's writtenAt is its pack's mtime; a re-put refreshes the whole pack. gc
 * marks blobs of an idle pack dead (hidden from this process at once, and written to
 * `<id>.dead` beside the pack with the pack's mtime, so a later process starts from
 * them) and unlinks the pack, checking its mtime in the same synchronous turn, once every
 * blob in it is dead or stored again elsewhere; a pack refreshed in between (its mtime
 * moved) forgets its marks and stays. A dead blob's bytes stay on disk until its whole
 * pack goes (no repacking yet).
 */

const MAGIC = Buffer.from('RBXPACK1', 'latin1');
const TRAILER_BYTES = 32;
const INDEX_ENTRY_BYTES = 44;
const PACK_NAME = /^[0-9a-f]{32}\.pack$/;
/** Buffered pack bytes written out before more are taken (bounds a batch's memory). */
const FLUSH_BYTES = 1024 * 1024;

export interface PackedLocation {
  pack: Pack;
  offset: number;
  length: number;
}

export interface Pack {
  readonly path: string;
  /** Every blob in the pack, in pack order. */
  readonly shas: readonly string[];
  /** Blobs gc removed while the pack's mtime was `deadAtMtime`. */
  dead: Set<string>;
  deadAtMtime: number;
  /** The mtime the `.dead` file's marks were made at (-1: none written by this process). */
  deadFileMtime: number;
}

function packError(path: string, why: string): RunboxError {
  return new RunboxError('Internal', `blob pack ${path} is unreadable: ${why}`, { field: 'pack' });
}

async function readExactly(file: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done !== length) throw new Error(`short read at ${position}`);
  return buffer;
}

function indexChecksum(index: Buffer): Buffer {
  return createHash('sha256').update(index).digest().subarray(0, 8);
}

/** Index entries of a pack file, checked against its trailer. */
async function readPackIndex(
  path: string,
): Promise<{ sha256: string; offset: number; length: number }[]> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size < TRAILER_BYTES) throw packError(path, 'shorter than its trailer');
    const trailer = await readExactly(file, TRAILER_BYTES, size - TRAILER_BYTES);
    if (!trailer.subarray(0, 8).equals(MAGIC)) throw packError(path, 'no pack trailer');
    const count = trailer.readUInt32LE(8);
    const indexOffset = Number(trailer.readBigUInt64LE(16));
    if (indexOffset + count * INDEX_ENTRY_BYTES !== size - TRAILER_BYTES) {
      throw packError(path, 'index does not end at the trailer');
    }
    const index = await readExactly(file, count * INDEX_ENTRY_BYTES, indexOffset);
    if (!indexChecksum(index).equals(trailer.subarray(24, 32))) {
      throw packError(path, 'index checksum mismatch');
    }
    const entries = [];
    for (let i = 0; i < count; i++) {
      const at = i * INDEX_ENTRY_BYTES;
      const offset = Number(index.readBigUInt64LE(at + 32));
      const length = index.readUInt32LE(at + 40);
      if (offset + length > indexOffset) throw packError(path, 'an entry points past the blobs');
      entries.push({ sha256: index.toString('hex', at, at + 32), offset, length });
    }
    return entries;
  } finally {
    await file.close();
  }
}

const deadPath = (packPath: string) => packPath.replace(/\.pack$/, '.dead');

/**
 * Persists a dead mark: the file starts with the pack's mtime the marks were made at;
 * marks of an older mtime are replaced. Not fsynced: a mark lost in a crash is made
 * again by the next gc.
 */
function writeDeadMarks(pack: Pack, sha256: string): void {
  const path = deadPath(pack.path);
  if (pack.deadFileMtime === pack.deadAtMtime) {
    appendFileSync(path, `${sha256}\n`, { mode: PRIVATE_FILE_MODE });
    return;
  }
  writeFileSync(path, `${pack.deadAtMtime}\n${[...pack.dead].join('\n')}\n`, {
    mode: PRIVATE_FILE_MODE,
  });
  pack.deadFileMtime = pack.deadAtMtime;
}

/** Applies a pack's persisted dead marks when they were made at its current mtime. */
function readDeadMarks(pack: Pack): void {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(deadPath(pack.path), 'utf8');
    mtimeMs = statSync(pack.path).mtimeMs;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const [header, ...shas] = text.split('\n');
  if (Number(header) !== mtimeMs) return; // refreshed since: the marks are stale
  const known = new Set(pack.shas);
  pack.dead = new Set(shas.filter((sha) => known.has(sha)));
  pack.deadAtMtime = mtimeMs;
  pack.deadFileMtime = mtimeMs;
}

/** Marks made before a refresh judged an older state of the pack: they are dropped. */
function forgetStaleMarks(pack: Pack, mtimeMs: number): void {
  if (pack.deadAtMtime === mtimeMs) return;
  pack.dead = new Set();
  pack.deadAtMtime = mtimeMs;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Where each packed blob is, for one store; see the top of this file. */
export class PackIndex {
  private readonly bySha = new Map<string, PackedLocation>();
  private readonly packs = new Map<string, Pack>();
  private scanning: Promise<void> | null = null;
  /** Packs found unreadable: named once in `unreadable`, never read again. */
  readonly unreadable = new Map<string, RunboxError>();

  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  /** The blob's place in a pack this process knows, unless gc removed it here. */
  find(sha256: string): PackedLocation | null {
    const found = this.bySha.get(sha256);
    if (!found || found.pack.dead.has(sha256)) return null;
    return found;
  }

  /**
   * find(), after making sure a blob gc removed here is still gone: a refresh since
   * (another process re-put a blob of that pack, maybe this one, and may have named it
   * in a result) makes the pack's blobs visible again.
   */
  findAgain(sha256: string): PackedLocation | null {
    const found = this.bySha.get(sha256);
    if (!found || !found.pack.dead.has(sha256)) return this.find(sha256);
    try {
      forgetStaleMarks(found.pack, statSync(found.pack.path).mtimeMs);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.drop(found.pack);
    }
    return this.find(sha256);
  }

  /** Reads the trailers of packs not yet known (another process's, or all at first). */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const name of names) {
      if (!PACK_NAME.test(name)) continue;
      const path = join(this.dir, name);
      if (this.packs.has(path) || this.unreadable.has(path)) continue;
      let entries;
      try {
        entries = await readPackIndex(path);
      } catch (error) {
        if (isNotFound(error)) continue; // removed by gc meanwhile
        // A damaged pack must not stop the store; its blobs read as missing.
        this.unreadable.set(
          path,
          error instanceof RunboxError ? error : packError(path, (error as Error).message),
        );
        continue;
      }
      this.add(path, entries);
      readDeadMarks(this.packs.get(path)!);
    }
  }

  /** Registers a complete, durable pack. */
  add(path: string, entries: readonly { sha256: string; offset: number; length: number }[]): void {
    if (this.packs.has(path)) return;
    const shas: string[] = [];
    const pack: Pack = { path, shas, dead: new Set(), deadAtMtime: 0, deadFileMtime: -1 };
    this.packs.set(path, pack);
    for (const { sha256, offset, length } of entries) {
      // Listed once even if the pack held it twice (one pass, no Set of its own).
      if (this.bySha.get(sha256)?.pack !== pack) shas.push(sha256);
      this.bySha.set(sha256, { pack, offset, length });
    }
  }

  /** Forgets a pack that is gone from disk. */
  drop(pack: Pack): void {
    this.packs.delete(pack.path);
    for (const sha of pack.shas) {
      if (this.bySha.get(sha)?.pack === pack) this.bySha.delete(sha);
    }
  }

  /**
   * A re-put of a packed blob: the pack's mtime becomes now, so gc's grace period covers
   * it. False when the pack is gone (gc took it): the caller stores its own copy.
   */
  async refresh(location: PackedLocation): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(location.pack.path, now, now);
      return true;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.drop(location.pack);
      return false;
    }
  }

  /** Every visible packed blob with its pack's mtime (one stat per pack). */
  async *entries(): AsyncGenerator<{ sha256: string; length: number; writtenAt: number }> {
    await this.scan();
    for (const pack of [...this.packs.values()]) {
      let mtimeMs: number;
      try {
        mtimeMs = statSync(pack.path).mtimeMs;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.drop(pack);
        continue;
      }
      for (const sha256 of pack.shas) {
        const found = this.find(sha256);
        if (found?.pack !== pack) continue; // dead, or listed under its other pack
        yield { sha256, length: found.length, writtenAt: mtimeMs };
      }
    }
  }

  /**
   * gc's delete of a packed blob: hidden at once if its pack is idle, the pack unlinked
   * once nothing in it is left. The mtime check and the unlink share one synchronous
   * turn, as for a loose blob. Returns the blob's stored bytes, 0 when no pack holds it,
   * null when its pack was written or refreshed since cutoffMs (kept).
   */
  removeIfIdle(sha256: string, cutoffMs: number | null): number | null {
    const found = this.find(sha256);
    if (!found) return 0;
    const { pack } = found;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(pack.path).mtimeMs;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.drop(pack);
      return 0;
    }
    forgetStaleMarks(pack, mtimeMs);
    if (cutoffMs !== null && mtimeMs >= cutoffMs) return null;
    pack.dead.add(sha256);
    writeDeadMarks(pack, sha256);
    const empty = pack.shas.every(
      (sha) => pack.dead.has(sha) || this.bySha.get(sha)?.pack !== pack,
    );
    if (empty) {
      for (const path of [pack.path, deadPath(pack.path)]) {
        try {
          unlinkSync(path);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      this.drop(pack);
    }
    return found.length;
  }

  /** A new pack for one batch's small blobs. */
  writer(): PackWriter {
    return new PackWriter(this);
  }

  /** @internal for PackWriter */
  get tmp(): string {
    return this.tmpDir;
  }
}

/**
 * One batch's pack, written to a temp file as blobs arrive (at most FLUSH_BYTES held in
 * memory) and named only at commit, after its fsync.
 */
export class PackWriter {
  private readonly tempPath: string;
  private file: FileHandle | null = null;
  private readonly buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly entries: { sha256: string; offset: number; length: number }[] = [];
  /** The index, written entry by entry as blobs arrive rather than all at commit. */
  private indexBuffer = Buffer.allocUnsafe(256 * INDEX_ENTRY_BYTES);
  private readonly shas = new Set<string>();
  /** Set by commit and discard: a put still in flight then must not be dropped silently. */
  private sealed = false;

  constructor(private readonly index: PackIndex) {
    this.tempPath = join(index.tmp, tempFileName());
  }

  get size(): number {
    return this.entries.length;
  }

  has(sha256: string): boolean {
    return this.shas.has(sha256);
  }

  /** Appends a blob's frames; resolves once the pack's memory is within its bound again. */
  async append(sha256: string, compressed: Buffer): Promise<void> {
    if (this.sealed) throw new RunboxError('Internal', 'put into a blob batch already settled');
    const offset = this.written + this.bufferedBytes;
    const at = this.entries.length * INDEX_ENTRY_BYTES;
    if (at + INDEX_ENTRY_BYTES > this.indexBuffer.length) {
      const grown = Buffer.allocUnsafe(this.indexBuffer.length * 2);
      this.indexBuffer.copy(grown, 0, 0, at);
      this.indexBuffer = grown;
    }
    this.indexBuffer.write(sha256, at, 32, 'hex');
    // u64 little-endian as two u32 (a BigInt per entry costs more than the rest).
    this.indexBuffer.writeUInt32LE(offset % 2 ** 32, at + 32);
    this.indexBuffer.writeUInt32LE(Math.floor(offset / 2 ** 32), at + 36);
    this.indexBuffer.writeUInt32LE(compressed.length, at + 40);
    this.entries.push({ sha256, offset, length: compressed.length });
    this.shas.add(sha256);
    this.buffered.push(compressed);
    this.bufferedBytes += compressed.length;
    if (this.bufferedBytes >= FLUSH_BYTES) {
      // Waits for the write before this one only: one write runs while blobs go on
      // arriving (at most two flushes' worth held in memory).
      const before = this.writing;
      void this.flush().catch(() => undefined);
      await before;
    }
  }

  /** Writes out what is buffered, one write at a time in order. */
  private flush(): Promise<void> {
    const chunks = this.buffered.splice(0);
    const bytes = this.bufferedBytes;
    this.bufferedBytes = 0;
    if (bytes === 0) return this.writing;
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    const position = this.written;
    this.written += bytes;
    this.writing = this.writing.then(async () => {
      this.file ??= await openTemp(this.tempPath, this.index.tmp);
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.file.write(
          data,
          done,
          data.length - done,
          position + done,
        );
        done += bytesWritten;
      }
    });
    return this.writing;
  }

  /** Index and trailer, fsync, rename into packs/, folder fsync; then readers see it. */
  async commit(): Promise<void> {
    this.sealed = true;
    if (this.entries.length === 0) return;
    const indexOffset = this.written + this.bufferedBytes;
    const index = this.indexBuffer.subarray(0, this.entries.length * INDEX_ENTRY_BYTES);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    MAGIC.copy(trailer, 0);
    trailer.writeUInt32LE(this.entries.length, 8);
    trailer.writeBigUInt64LE(BigInt(indexOffset), 16);
    indexChecksum(index).copy(trailer, 24);
    this.buffered.push(index, trailer);
    this.bufferedBytes += index.length + trailer.length;
    await this.flush();
    const file = this.file!;
    await file.sync();
    await file.close();
    this.file = null;
    const name = `${randomBytes(16).toString('hex')}.pack`;
    const final = join(this.index.dir, name);
    try {
      await rename(this.tempPath, final);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await mkdir(this.index.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await rename(this.tempPath, final);
    }
    await fsyncPath(this.index.dir);
    this.index.add(final, this.entries);
  }

  /** Drops the temp file; nothing of it was ever visible. */
  async discard(): Promise<void> {
    this.sealed = true;
    await this.writing.catch(() => undefined);
    const file = this.file;
    this.file = null;
    await file?.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

async function openTemp(path: string, tmpDir: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await mkdir(tmpDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    return await open(path, 'wx', PRIVATE_FILE_MODE);
  }
}
