import type { Readable, Transform } from 'node:stream';

/** What put() stored: the blob's key is the sha256 of the uncompressed bytes. */
export interface StoredBlob {
  sha256: string;
  /** Uncompressed bytes. */
  size: number;
  /** Bytes on disk (zstd frames). */
  compressedSize: number;
}

export interface PutOptions {
  /**
   * Stop with OutputLimitExceeded once more than this many uncompressed bytes have
   * passed; nothing is left under a real name.
   */
  maxBytes?: number;
  /**
   * Defer durability to this batch's commit(): the blob is written but neither flushed
   * nor given its real name until then. A result may name the blob only after commit().
   */
  batch?: BlobBatch;
}

/**
 * Blobs put together and made durable together: one flush for many files instead of
 * two fsyncs each, which is what many small outputs cost otherwise.
 */
export interface BlobBatch {
  /** Flushes every blob of the batch and gives each its real name, durably. */
  commit(): Promise<void>;
  /** Drops the batch's blobs that were not committed; nothing appears under a real name. */
  discard(): Promise<void>;
}

/**
 * Content-addressed blob store (implemented in storage/). Blobs are kept as a sequence
 * of independent zstd frames, each from at most `zstd.frameBytes` of input.
 */
export interface BlobStore {
  /**
   * Streams source into the store, hashing and compressing as it goes. A Buffer (a small
   * file read whole) skips the stream machinery.
   */
  put(source: Readable | Buffer, options?: PutOptions): Promise<StoredBlob>;
  /** A batch for put()s whose durability is settled at once (see PutOptions.batch). */
  beginBatch(): BlobBatch;
  /** Size facts of a stored blob, or null. */
  stat(sha256: string): Promise<StoredBlob | null>;
  /** The stored zstd frames as they are (for Content-Encoding: zstd). */
  openCompressed(sha256: string): Readable;
  /** Decompressed bytes, optionally a [start, end] inclusive byte range. */
  openDecompressed(sha256: string, range?: { start: number; end: number }): Readable;
  /** A fresh Transform compressing into this store's frame format (for tar.zst downloads). */
  compressor(): Transform;
  /** Removes a blob; a missing blob is not an error. */
  remove(sha256: string): Promise<void>;
}
