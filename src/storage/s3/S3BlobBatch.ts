import { RunboxError } from '../../errors/index.js';
import type { BlobBatch } from '../BlobStore.js';

/**
 * How long the S3 calls of a run already stopped may take, together: a cancelled job's
 * logs and outputs so far are stored while S3 answers, and an S3 that hangs holds its
 * slot this long at most.
 */
export const STOPPED_GRACE_MS = 10_000;

/** How one write-path call of a batch may be stopped (S3BlobStore.patiently). */
export interface CallStop {
  /** Given to the call: its abort ends the call and any wait for S3. */
  signal: AbortSignal;
  /** The run was stopped before the call began: S3 gets one try, no waiting. */
  once: boolean;
  /** Why the run stopped ('cancel' ends the job Cancelled). */
  reason(): unknown;
}

/** What a batch needs of its store (S3BlobStore). */
export interface BatchOwner {
  pin(sha256: string): void;
  unpin(sha256: string): void;
  upload(sha256: string, stop?: CallStop): Promise<number>;
}

/**
 * Blobs compressed into the local cache and uploaded only at commit(): nothing of the
 * batch is visible in the bucket before, and each PUT is durable once acknowledged.
 */
export class S3BlobBatch implements BlobBatch {
  private readonly shas = new Set<string>();
  private done = false;
  private grace: AbortSignal | null = null;

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
          await this.store.upload(sha, this.stop());
        }
      };
      await Promise.all([next(), next(), next(), next()]);
    } finally {
      this.release();
    }
  }

  /**
   * What the next S3 call runs under. While the run goes on, its signal: a cancel ends a
   * wait for an S3 that does not answer, and a request S3 leaves hanging, at once. The
   * cancel that kills a container comes before its logs and outputs are stored, so a run
   * already stopped still stores them: each call gets one try, all of them within
   * STOPPED_GRACE_MS of the first (aborting them would lose every cancelled job's log).
   * A run stopped otherwise (a drain past its time, a lost lease) records no result, so
   * nothing is stored for it.
   */
  stop(): CallStop | undefined {
    const run = this.signal;
    if (!run) return undefined;
    const reason = () => run.reason as unknown;
    if (!run.aborted) return { signal: run, once: false, reason };
    if (run.reason !== 'cancel') return { signal: run, once: true, reason };
    this.grace ??= AbortSignal.timeout(STOPPED_GRACE_MS);
    return { signal: this.grace, once: true, reason };
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
