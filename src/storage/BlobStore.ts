import type { Readable, Transform } from 'node:stream';

/*
 * The blob seam. A store (fs/, s3/) implements BlobStore; the executor, the API and the
 * CLI use only this. test/conformance/blobStore.suite.ts checks every rule below.
 *
 * - Keys are the sha256 (64 lowercase hex digits) of the uncompressed bytes; any other
 *   key is refused with InvalidSpec (field sha256) before touching storage, so a key is
 *   never a path or an object name someone else chose.
 * - Blobs are stored as a sequence of independent zstd frames, each from at most
 *   frameBytes of input, every frame header carrying its content size (framedBlob.ts
 *   writes and reads that format for every store). So a range read skips whole frames
 *   and a compressed read is a valid zstd stream (served as Content-Encoding: zstd).
 * - A stored blob is immutable and complete: a reader never sees a partial blob under
 *   its key. A put of bytes already stored stores nothing new and refreshes the blob's
 *   writtenAt, so the gc grace period covers a job that has just put it.
 * - A missing blob: stat resolves null, open* reject with NotFound, remove and
 *   removeIfIdle resolve. Times (writtenAt) are epoch ms by the store's clock; callers
 *   pass ages (graceMs), never their own clock's times.
 */

/** What put() stored: the blob's key is the sha256 of the uncompressed bytes. */
export interface StoredBlob {
  sha256: string;
  /** Uncompressed bytes. */
  size: number;
  /** Bytes stored (zstd frames). */
  compressedSize: number;
}

export interface PutOptions {
  /**
   * Stop with OutputLimitExceeded once more than this many uncompressed bytes have
   * passed; nothing is left under a real name.
   */
  maxBytes?: number;
  /**
   * Defer durability to this batch's commit(). A result may name the blob only after
   * commit() resolved. A batch belongs to the store that began it (another store's
   * batch is refused with Internal).
   */
  batch?: BlobBatch;
  /**
   * The sha256 of a Buffer source, when the caller has computed it already (collecting
   * outputs hashes each small file to find copies): the store takes it as the key
   * instead of hashing the bytes again. Ignored for a stream.
   */
  sha256?: string;
}

/**
 * Blobs put together and made durable together (fs: one flush for many files instead
 * of two fsyncs each). A store whose puts are durable at once may commit as a no-op.
 */
export interface BlobBatch {
  /** Every blob put with this batch is durable and readable under its key once this resolves. */
  commit(): Promise<void>;
  /**
   * Gives up the batch's blobs not committed. Afterwards each may be absent or stored
   * whole (a store that cannot take it back leaves it to gc); never partial.
   */
  discard(): Promise<void>;
}

/** One stored blob as a listing sees it (no decompression, no frame walk). */
export interface BlobEntry {
  sha256: string;
  /** Bytes stored. */
  compressedSize: number;
  /** Last write, or the last put() that found it already stored (epoch ms, store clock). */
  writtenAt: number;
}

/** Decompressed bytes from start to end, both inclusive (HTTP Range semantics). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** 'fs', 's3': for logs and doctor. */
  readonly kind: string;
  /**
   * Streams source into the store, hashing and compressing as it goes (a Buffer skips
   * the stream machinery). Resolves once durable (or, with a batch, once written).
   * Over maxBytes: rejects with OutputLimitExceeded, the source is destroyed, nothing
   * stored. Putting the same bytes twice (concurrently too) yields one blob.
   */
  put(source: Readable | Buffer, options?: PutOptions): Promise<StoredBlob>;
  /** A batch for put()s whose durability is settled at once (see PutOptions.batch). */
  /**
   * `signal` (a job's run): a store waiting out an unavailable backend (S3) for this
   * batch's puts and commit stops waiting once it aborts (a cancel); others ignore it.
   */
  beginBatch(signal?: AbortSignal): BlobBatch;
  /** Size facts of a stored blob, or null when it is not stored. */
  stat(sha256: string): Promise<StoredBlob | null>;
  /**
   * The stored zstd frames as they are. Rejects with NotFound (field sha256) when the
   * blob is not stored, before any byte, so an HTTP answer can still be a 404.
   */
  openCompressed(sha256: string): Promise<Readable>;
  /**
   * Decompressed bytes, optionally only `range`. Rejects with NotFound as above, with
   * InvalidSpec (field range) for start > end or non-integers; an end beyond the blob
   * stops at its last byte. Frames wholly before range.start are skipped undecoded.
   */
  openDecompressed(sha256: string, range?: ByteRange): Promise<Readable>;
  /** A fresh Transform compressing into this store's frame format (tar.zst downloads). */
  compressor(): Transform;
  /** Removes a blob; a missing blob is not an error. Not for gc (see removeIfIdle). */
  remove(sha256: string): Promise<void>;
  /** Every stored blob once, in no particular order (gc, usage). Blobs put meanwhile may or may not appear. */
  list(): AsyncIterable<BlobEntry>;
  /**
   * gc's delete: removes the blob only if nothing wrote or re-put it within the last
   * `graceMs` by the store's clock, judged as close to the delete as the store can
   * (fs: in the same synchronous turn as the unlink). Resolves the bytes freed, 0 when
   * kept or missing.
   */
  removeIfIdle(sha256: string, graceMs: number): Promise<number>;
  /** Releases clients and handles. Idempotent. */
  close(): Promise<void>;
}
