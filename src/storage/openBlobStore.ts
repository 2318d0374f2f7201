import { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { BlobStore } from './BlobStore.js';
import type { BlobLedger } from './s3/BlobLedger.js';
import { createBlobStore, type FileBlobStore } from './fs/FileBlobStore.js';
import type { SyncBlobStore } from './SyncBlobStore.js';

export interface OpenedBlobStore {
  kind: 'fs' | 's3';
  /** The store the executor, the API and the CLI use (today's SyncBlobStore surface). */
  store: SyncBlobStore;
  /**
   * The local blobs the retention sweep's age-based gc may clean: the store itself for
   * 'fs'; for 's3' its read cache, which holds copies only (the bucket is collected by
   * the blobs table, never by times; see storage/s3/BlobLedger.ts).
   */
  local: FileBlobStore;
  close(): Promise<void>;
}

/**
 * The blob store config.blobs names. The S3 client is imported only when an S3 store is
 * configured, so a local runbox never loads it.
 *
 * Until the callers move to the async BlobStore (issue 14, phase 2), an S3 store is
 * handed to them through syncView(); then this becomes backends.ts's createBlobStore.
 */
export async function openBlobStore(
  config: Pick<Config, 'dataDir' | 'zstd' | 'blobs'>,
  options: {
    /**
     * The blobs table of the queue database (proposed migration 006): without it an S3
     * store's gc deletes nothing in the bucket (see storage/s3/BlobLedger.ts).
     */
    ledger?: BlobLedger;
  } = {},
): Promise<OpenedBlobStore> {
  const blobs = config.blobs;
  if (blobs === null || blobs.kind === 'fs') {
    const store = await createBlobStore({
      dataDir: blobs?.dataDir ?? config.dataDir,
      zstd: config.zstd,
    });
    return { kind: 'fs', store, local: store, close: () => Promise.resolve() };
  }
  const { createS3BlobStore } = await import('./s3/createS3BlobStore.js');
  const store = await createS3BlobStore(
    {
      blobs,
      ...(blobs.credentials && { credentials: blobs.credentials }),
      ...(blobs.cacheMaxBytes !== undefined && { cacheMaxBytes: blobs.cacheMaxBytes }),
      ...(options.ledger && { ledger: options.ledger }),
    },
    config,
  );
  return { kind: 's3', store: syncView(store), local: store.cache, close: () => store.close() };
}

/** An async store seen through today's surface: a missing blob is a stream error. */
export function syncView(store: BlobStore): SyncBlobStore {
  const lazy = (open: () => Promise<Readable>): Readable =>
    Readable.from(
      (async function* () {
        yield* await open();
      })(),
      { objectMode: false },
    );
  return {
    put: (source, options) => store.put(source, options),
    beginBatch: () => store.beginBatch(),
    stat: (sha256) => store.stat(sha256),
    openCompressed: (sha256) => lazy(() => store.openCompressed(sha256)),
    openDecompressed: (sha256, range) => lazy(() => store.openDecompressed(sha256, range)),
    compressor: () => store.compressor(),
    remove: (sha256) => store.remove(sha256),
  };
}
