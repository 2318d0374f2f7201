import type { Readable, Transform } from 'node:stream';
import type { BlobBatch, PutOptions, StoredBlob } from './BlobStore.js';

/**
 * Today's store surface, while callers move to the async BlobStore (issue 14): its
 * open* return streams at once and report a missing blob as a stream error.
 */
export interface SyncBlobStore {
  put(source: Readable | Buffer, options?: PutOptions): Promise<StoredBlob>;
  beginBatch(): BlobBatch;
  stat(sha256: string): Promise<StoredBlob | null>;
  openCompressed(sha256: string): Readable;
  openDecompressed(sha256: string, range?: { start: number; end: number }): Readable;
  compressor(): Transform;
  remove(sha256: string): Promise<void>;
}
