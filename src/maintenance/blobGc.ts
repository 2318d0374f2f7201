import type { BlobStore } from '../storage/BlobStore.js';

/** What gc needs of a store: any BlobStore has it. */
export type CollectableStore = Pick<BlobStore, 'list' | 'removeIfIdle'>;

export interface CollectGarbageOptions {
  store: CollectableStore;
  /**
   * Blobs still in use (the queue knows which; storage knows nothing of SQLite). Build
   * it after deciding which jobs to delete and before calling: a blob a job records
   * later is protected by the grace period instead.
   */
  referenced: ((sha256: string) => boolean) | ReadonlySet<string>;
  /**
   * Grace period: blobs written or re-put within it are kept even if unreferenced,
   * because a running job may have stored them and not recorded them yet. Must exceed
   * the longest time from a job's put() to its recorded result (its timeout plus
   * output collection); an hour more than the longest timeout is a safe choice.
   */
  olderThanMs: number;
  /**
   * This process's clock, only to skip blobs listed as written within the grace period
   * without asking the store; the store's own clock decides each removal. @defaultValue Date.now()
   */
  now?: number;
}

export interface GarbageReport {
  /** Blobs looked at. */
  scannedBlobs: number;
  removedBlobs: number;
  /** Bytes on disk released. */
  freedBytes: number;
}

/**
 * Removes blobs nothing references and nothing has written for `olderThanMs`. A blob
 * is re-checked just before it is removed, so one re-put meanwhile is kept.
 */
export async function collectGarbage(options: CollectGarbageOptions): Promise<GarbageReport> {
  const { store, referenced } = options;
  if (!Number.isFinite(options.olderThanMs) || options.olderThanMs < 0) {
    throw new RangeError(`olderThanMs must be a non-negative number, got ${options.olderThanMs}`);
  }
  const isReferenced =
    typeof referenced === 'function' ? referenced : (sha256: string) => referenced.has(sha256);
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  const report: GarbageReport = { scannedBlobs: 0, removedBlobs: 0, freedBytes: 0 };
  for await (const blob of store.list()) {
    report.scannedBlobs += 1;
    if (blob.writtenAt >= cutoff || isReferenced(blob.sha256)) continue;
    const freed = await store.removeIfIdle(blob.sha256, options.olderThanMs);
    if (freed > 0) {
      report.removedBlobs += 1;
      report.freedBytes += freed;
    }
  }
  return report;
}
