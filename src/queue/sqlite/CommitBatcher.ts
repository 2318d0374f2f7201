import { immediate, savepoint, type Db } from './db.js';

/**
 * Group commit. With synchronous=FULL every commit is an fsync (milliseconds on real
 * disks); one job per commit caps the queue at a few thousand jobs a second. The
 * batcher collects writes from concurrent async callers (submits, finished results) and
 * commits them together in one BEGIN IMMEDIATE transaction, either every `windowMs` or
 * as soon as `maxBatch` are pending.
 *
 * Invariant: a caller's promise resolves only after the COMMIT that contains its write
 * has returned, so "acknowledged" still means "durable"; nothing is weakened, only
 * shared. Each operation runs in its own savepoint inside the batch: one that throws
 * rolls back alone and rejects only its caller. If the COMMIT itself fails (disk full,
 * SQLITE_BUSY past busy_timeout), every caller in the batch is rejected.
 *
 * Operations are synchronous functions of the db handle (nothing awaits inside a
 * transaction). Windows cost latency, not throughput: a lone submit waits up to
 * windowMs before its commit.
 */
export interface CommitBatcherOptions {
  /** Milliseconds to collect writes before committing. @defaultValue config.commitWindowMs (2) */
  windowMs: number;
  /** Commit at once when this many operations are pending. @defaultValue 1000 */
  maxBatch?: number;
}

interface Pending {
  run: (db: Db) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class CommitBatcher {
  private pending: Pending[] = [];
  private timeout: NodeJS.Timeout | null = null;
  private immediateHandle: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  /** Transactions committed so far (for tests and metrics). */
  commits = 0;
  /** Operations committed so far. */
  operations = 0;

  constructor(
    private readonly db: Db,
    options: CommitBatcherOptions,
  ) {
    this.windowMs = Math.max(0, options.windowMs);
    this.maxBatch = Math.max(1, options.maxBatch ?? 1000);
  }

  /**
   * Queues a write; resolves with its return value once it is committed.
   *
   * `atOnce`: commit on the next turn of the event loop instead of waiting for the
   * window, still sharing the commit with whatever else is pending by then. For a
   * caller that has batched its own writes already (the worker pool records every
   * result of one turn in one operation) and would otherwise sit idle for the window.
   * @defaultValue false
   */
  run<T>(operation: (db: Db) => T, options: { atOnce?: boolean } = {}): Promise<T> {
    if (this.closed) {
      return Promise.reject(new Error('CommitBatcher is closed: no more writes are accepted'));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: operation, resolve: resolve as (v: unknown) => void, reject });
      this.schedule(options.atOnce === true);
    });
  }

  private schedule(atOnce: boolean): void {
    if (atOnce || this.pending.length >= this.maxBatch || this.windowMs === 0) {
      this.immediateHandle ??= setImmediate(() => this.flush());
      return;
    }
    this.timeout ??= setTimeout(() => this.flush(), this.windowMs);
  }

  /** Commits everything pending now. Called by the timers; callable directly. */
  flush(): void {
    if (this.timeout !== null) clearTimeout(this.timeout);
    if (this.immediateHandle !== null) clearImmediate(this.immediateHandle);
    this.timeout = null;
    this.immediateHandle = null;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      // A batch of one needs no savepoint: if it throws, rolling back the whole
      // transaction undoes exactly its writes. The hot path (one finish-and-claim per
      // event-loop turn) is such a batch, and a savepoint is not free: every page the
      // operation writes is first copied to the savepoint's journal.
      if (batch.length === 1) {
        const item = batch[0]!;
        let value: unknown;
        try {
          value = immediate(this.db, () => item.run(this.db));
        } catch (error) {
          item.reject(error);
          continue;
        }
        this.commits += 1;
        this.operations += 1;
        item.resolve(value);
        continue;
      }
      try {
        immediate(this.db, () => {
          for (const item of batch) {
            try {
              outcomes.push({ ok: true, value: savepoint(this.db, () => item.run(this.db)) });
            } catch (error) {
              // Some errors (SQLITE_FULL, I/O errors) make SQLite roll back the whole
              // transaction; going on would run the rest in autocommit. Fail the batch.
              if (!this.db.inTransaction) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (error) {
        for (const item of batch) item.reject(error);
        continue;
      }
      this.commits += 1;
      this.operations += batch.length;
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    }
  }

  /** Commits what is pending and refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
