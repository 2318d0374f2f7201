import { RunboxError } from '../../errors/index.js';
import type { BlobBatch } from '../BlobStore.js';

/** What a batch needs of its store (S3BlobStore). */
export interface BatchOwner {
  pin(sha256: string): void;
  unpin(sha256: string): void;
  upload(sha256: string, signal?: AbortSignal): Promise<number>;
}

/**
 * Blobs compressed into the local cache and uploaded only at commit(): nothing of the
 * batch is visible in the bucket before, and each PUT is durable once acknowledged.
 */
export class S3BlobBatch implements BlobBatch {
  private readonly shas = new Set<string>();
  private done = false;

  constructor(
    readonly store: BatchOwner,
    readonly local: BlobBatch,
    /** The run's: a cancel stops waiting for an S3 that does not answer. */
    readonly signal?: AbortSignal,
  ) {}

  add(sha256: string): void {
    if (this.done) throw new RunboxError('Internal', 'put into a blob batch already settled');
    if (this.shas.has(sha256)) return;
    this.shas.add(sha256);
    this.store.pin(sha256);
  }

  async commit(): Promise<void> {
    this.done = true;
    try {
      await this.local.commit();
      // A few PUTs at a time: many small outputs are latency-bound, not bandwidth-bound.
      const queue = [...this.shas];
      const next = async (): Promise<void> => {
        for (let sha = queue.shift(); sha !== undefined; sha = queue.shift()) {
          await this.store.upload(sha, this.signal);
        }
      };
      await Promise.all([next(), next(), next(), next()]);
    } finally {
      this.release();
    }
  }

  async discard(): Promise<void> {
    this.done = true;
    try {
      await this.local.discard();
    } finally {
      this.release();
    }
  }

  private release(): void {
    for (const sha of this.shas) this.store.unpin(sha);
    this.shas.clear();
  }
}
