import type { BlobLedger } from './BlobLedger.js';

/** What S3 gc needs of the store (S3BlobStore has it). */
export interface RemovableStore {
  remove(sha256: string, signal?: AbortSignal): Promise<void>;
}

export interface CollectS3GarbageOptions {
  store: RemovableStore;
  ledger: BlobLedger;
  /**
   * Blobs stored within it are kept even if no job refers to them yet: a running job
   * records its outputs only when it finishes. Same rule as the local store's grace.
   */
  graceMs: number;
  /**
   * gc deletes a condemned blob's object only within this long of condemning it; puts of
   * that blob wait this out. Must exceed one DELETE's time many times over.
   * @defaultValue 60 s
   */
  deleteWithinMs?: number;
  /** Upper bound on one DELETE; a DELETE is not started later than deadline less this. @defaultValue 10 s */
  requestTimeoutMs?: number;
  /** Blobs per round. @defaultValue 500 */
  limit?: number;
  /** Monotonic clock for the deadline. @defaultValue performance.now */
  clock?: () => number;
}

export interface S3GarbageReport {
  removedBlobs: number;
  /** Condemned blobs whose deadline came before their DELETE; the next run retries them. */
  deferredBlobs: number;
}

/**
 * Deletes blobs no job refers to and no node stored for graceMs, by the database's rows
 * and never by object times (see BlobLedger for why that is safe across nodes). Run on
 * one node at a time; two at once only repeat DELETEs.
 */
export async function collectS3Garbage(options: CollectS3GarbageOptions): Promise<S3GarbageReport> {
  const deleteWithinMs = options.deleteWithinMs ?? 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const limit = options.limit ?? 500;
  const clock = options.clock ?? (() => performance.now());
  const report: S3GarbageReport = { removedBlobs: 0, deferredBlobs: 0 };
  for (;;) {
    const started = clock();
    const condemned = await options.ledger.condemn({
      graceMs: options.graceMs,
      deleteWithinMs,
      limit,
    });
    const removed: string[] = [];
    for (const sha256 of condemned) {
      if (clock() - started + requestTimeoutMs >= deleteWithinMs) {
        report.deferredBlobs += 1;
        continue;
      }
      await options.store.remove(sha256, AbortSignal.timeout(requestTimeoutMs));
      removed.push(sha256);
    }
    await options.ledger.forget(removed);
    report.removedBlobs += removed.length;
    if (condemned.length < limit || removed.length === 0) return report;
  }
}
