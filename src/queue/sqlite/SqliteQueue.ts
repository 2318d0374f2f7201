import type { Config } from '../../config.js';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../../contract/contract.js';
import { cancelJob, type CancelOutcome } from './cancelJob.js';
import { checkItem } from '../checkItem.js';
import { claimJobs } from './claimJobs.js';
import { CommitBatcher } from './CommitBatcher.js';
import { immediate, savepoint, type Db } from './db.js';
import { enqueueJobs } from './enqueueJobs.js';
import { finishJobs, type FinishItem, type FinishOutcome } from './finishJobs.js';
import { heartbeatJobs, type HeartbeatOutcome, type HeldRef } from './heartbeatJobs.js';
import { openDatabase } from './openDatabase.js';
import {
  countByStatus,
  finishedByOutcome,
  getJob,
  listJobs,
  runningJobs,
  type JobPage,
  type ListJobsArgs,
  type OutcomeCount,
  type RunningJob,
} from './readJobs.js';
import {
  adoptJob,
  releaseJobs,
  requeueExpired,
  requeueOwnedBy,
  type ReapOutcome,
} from './requeueJobs.js';
import { failOrphanedReservations } from './reservations.js';
import { deleteFinishedBefore, referencedBlobs, type DeletedJobs } from './retention.js';
import type { ClaimedJob, EnqueueItem, EnqueueOutcome, JobRecord, JobStatus } from '../types.js';
import {
  deleteDeadWorkers,
  getWorker,
  heartbeatWorker,
  listWorkers,
  registerWorker,
  stopWorker,
  type WorkerInfo,
  type WorkerRecord,
} from './workers.js';

export type QueueConfig = Pick<
  Config,
  | 'dbPath'
  | 'lease'
  | 'retry'
  | 'commitWindowMs'
  | 'workerDeadMs'
  | 'workerRetentionMs'
  | 'jobRetentionMs'
>;

export interface QueueOptions {
  /** The contract this build reads and writes. Tests play other builds. @defaultValue CURRENT_CONTRACT */
  contract?: ContractDescriptor;
  /** Clock. @defaultValue Date.now */
  now?: () => number;
  /** Jitter source for backoff. @defaultValue Math.random */
  random?: () => number;
  /** Commit at once when this many writes are pending. @defaultValue 1000 */
  maxBatch?: number;
}

/**
 * The queue as the worker pool and the API use it: one database connection, one commit
 * batcher, and the operations with this process's config filled in.
 *
 * Writes that a caller waits on for durability (submit, finish) are group-committed
 * through the batcher and return promises that resolve after the commit. The rest are
 * small synchronous transactions: claim and heartbeat must answer at once, and cancel
 * and the reaper are rare.
 */
export class Queue {
  readonly db: Db;
  readonly batcher: CommitBatcher;
  readonly contract: ContractDescriptor;
  /**
   * This database's random id, the same for every process that opens it: containers
   * are labelled with it, and recovery touches only containers carrying it.
   */
  readonly databaseId: string;
  private readonly config: QueueConfig;
  private readonly now: () => number;
  private readonly random: () => number;
  private closed = false;
  private readonly finishedListeners = new Set<(ids: readonly string[]) => void>();

  private constructor(db: Db, databaseId: string, config: QueueConfig, options: QueueOptions) {
    this.db = db;
    this.databaseId = databaseId;
    this.config = config;
    this.contract = options.contract ?? CURRENT_CONTRACT;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.batcher = new CommitBatcher(db, {
      windowMs: config.commitWindowMs,
      maxBatch: options.maxBatch ?? 1000,
    });
  }

  /** Opens config.dbPath: migrations, contract stamp (throws SchemaTooNew / ContractMismatch). */
  static open(config: QueueConfig, options: QueueOptions = {}): Queue {
    const { db, databaseId } = openDatabase(config.dbPath, {
      ...(options.contract ? { contract: options.contract } : {}),
    });
    return new Queue(db, databaseId, config, options);
  }

  // ---- jobs: API side ----

  /**
   * Enqueues items in one transaction (all or none), resolved once durable. A repeated
   * idempotency key returns the existing job with created=false.
   */
  async submit(items: EnqueueItem[]): Promise<EnqueueOutcome[]> {
    items.forEach((item, i) => checkItem(item, items.length > 1 ? `jobs.${i}.` : ''));
    const now = this.now();
    return this.batcher.run((db) => enqueueJobs(db, items, now));
  }

  get(id: string): JobRecord | null {
    return getJob(this.db, id);
  }

  list(args: ListJobsArgs = {}): JobPage {
    return listJobs(this.db, args);
  }

  /**
   * Queued: cancelled at once. Running: cancel requested (its worker kills it and
   * records Cancelled). Final: unchanged. Null for an unknown id.
   */
  cancel(id: string): JobRecord | null {
    const outcome = this.cancelWithOutcome(id);
    return outcome ? outcome.job : null;
  }

  cancelWithOutcome(id: string): CancelOutcome | null {
    if (getJob(this.db, id) === null) return null;
    return cancelJob(this.db, id, this.now());
  }

  counts(): Record<JobStatus, number> {
    return countByStatus(this.db);
  }

  finishedByOutcome(): OutcomeCount[] {
    return finishedByOutcome(this.db);
  }

  // ---- jobs: worker side ----

  /**
   * Takes up to `limit` due jobs for this worker (best first), each with its token:
   * from the shared queue, or with `reserved` only those reserved for this worker.
   */
  claim(workerId: string, limit: number, reserved?: boolean): ClaimedJob[] {
    return claimJobs(this.db, {
      workerId,
      limit,
      leaseMs: this.config.lease.expiryMs,
      now: this.now(),
      reserved,
    });
  }

  /** Renews leases. `lost` jobs must be aborted; `cancelRequested` ones killed. */
  heartbeat(_workerId: string, jobs: HeldRef[]): HeartbeatOutcome {
    return heartbeatJobs(this.db, jobs, this.config.lease.expiryMs, this.now());
  }

  /** Records results (group-committed); 'stale' when the token is no longer the live attempt. */
  async finish(items: FinishItem[]): Promise<FinishOutcome[]> {
    const outcomes = await this.batcher.run((db) =>
      finishJobs(db, items, {
        now: this.now(),
        retry: this.config.retry,
        contractVersion: this.contract.version,
        random: this.random,
      }),
    );
    this.announceFinished(items, outcomes);
    return outcomes;
  }

  /**
   * Calls listener with the ids of jobs whose results this process recorded, once their
   * commit has returned (a final state, or queued again for a retry). A waiter in this
   * process (wait=true) reads the job at once instead of at its next poll; jobs finished
   * by other processes are still only seen by polling. Returns the unsubscribe function.
   */
  onFinished(listener: (ids: readonly string[]) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  private announceFinished(items: readonly FinishItem[], outcomes: readonly FinishOutcome[]) {
    if (this.finishedListeners.size === 0) return;
    const ids = items.filter((_, i) => outcomes[i] === 'recorded').map((item) => item.id);
    if (ids.length === 0) return;
    for (const listener of this.finishedListeners) listener(ids);
  }

  /**
   * Records results and claims up to `claim.limit` jobs in the same transaction, committed
   * on the next turn of the event loop (not after the window): the worker pool's hot path.
   * One commit instead of two, and the slots whose results these are get their next job
   * the moment their results are durable. A claim that fails claims nothing (the pool
   * claims again on its own); a finish that fails rejects, and no job is claimed.
   */
  async finishAndClaim(
    items: FinishItem[],
    claim: { workerId: string; limit: number; reserved?: boolean | undefined },
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
    const answer = await this.batcher.run(
      (db) => {
        const now = this.now();
        const outcomes = finishJobs(db, items, {
          now,
          retry: this.config.retry,
          contractVersion: this.contract.version,
          random: this.random,
        });
        let claimed: ClaimedJob[] = [];
        try {
          // Its own savepoint: a claim that fails must not take the results down with it.
          claimed = savepoint(db, () =>
            claimJobs(db, {
              workerId: claim.workerId,
              limit: claim.limit,
              leaseMs: this.config.lease.expiryMs,
              now,
              reserved: claim.reserved,
            }),
          );
        } catch (error) {
          // SQLite aborted the whole transaction: nothing of this batch can commit.
          if (!db.inTransaction) throw error;
        }
        return { outcomes, claimed };
      },
      { atOnce: true },
    );
    this.announceFinished(items, answer.outcomes);
    return answer;
  }

  /** Gives unfinished jobs back (drain): queued at once, not a failure. Returns ids released. */
  release(jobs: HeldRef[], reason: string): string[] {
    return releaseJobs(this.db, jobs, reason, this.now());
  }

  /** Startup recovery: takes over a running attempt whose owner is dead; null if not ours. */
  adopt(jobId: string, attempt: number, workerId: string): ClaimedJob | null {
    return adoptJob(this.db, {
      jobId,
      attempt,
      workerId,
      leaseMs: this.config.lease.expiryMs,
      now: this.now(),
      deadMs: this.config.workerDeadMs,
    });
  }

  runningJobs(): RunningJob[] {
    return runningJobs(this.db);
  }

  /**
   * The reaper: requeues (or fails) jobs whose lease expired, except `keep` (jobs this
   * process holds; see requeueExpired). Returns how many it touched.
   */
  reap(keep?: ReadonlySet<string>): number {
    const outcome = this.reapWithOutcome(keep);
    return outcome.requeued.length + outcome.failed.length + outcome.cancelled.length;
  }

  /** Expired leases, then reservations whose `runbox run` process is gone (failed). */
  reapWithOutcome(keep?: ReadonlySet<string>): ReapOutcome {
    const now = this.now();
    // One write lock for both: the reaper runs every second in every pool.
    return immediate(this.db, () => {
      const outcome = requeueExpired(this.db, now, this.config.retry, this.random, keep);
      const orphaned = failOrphanedReservations(this.db, now, this.config.workerDeadMs);
      return orphaned.length === 0
        ? outcome
        : { ...outcome, failed: [...outcome.failed, ...orphaned] };
    });
  }

  /** Jobs held by workers isDead() condemns are lost now (WorkerLost). Returns how many. */
  requeueOwnedByDeadWorkers(isDead: (workerId: string) => boolean): number {
    let count = 0;
    for (const job of runningJobs(this.db)) {
      if (job.owner === null || !isDead(job.owner)) continue;
      const outcome = requeueOwnedBy(
        this.db,
        job.owner,
        'lost',
        this.now(),
        this.config.retry,
        this.random,
      );
      count += outcome.requeued.length + outcome.failed.length + outcome.cancelled.length;
    }
    return count;
  }

  /** Every job a worker holds goes back: 'drain' without penalty, 'lost' as WorkerLost. */
  requeueOwnedBy(workerId: string, mode: 'drain' | 'lost'): ReapOutcome {
    return requeueOwnedBy(this.db, workerId, mode, this.now(), this.config.retry, this.random);
  }

  // ---- workers ----

  /** The worker handshake: throws ContractMismatch (nothing written) for an incompatible build. */
  registerWorker(worker: WorkerInfo): void {
    registerWorker(this.db, worker, this.contract, this.now());
  }

  heartbeatWorker(workerId: string): boolean {
    return heartbeatWorker(this.db, workerId, this.now());
  }

  stopWorker(workerId: string): void {
    stopWorker(this.db, workerId, this.now());
  }

  isWorkerAlive(workerId: string | null): boolean {
    if (workerId === null) return false;
    return getWorker(this.db, workerId, this.now(), this.config.workerDeadMs)?.alive ?? false;
  }

  listWorkers(): WorkerRecord[] {
    return listWorkers(this.db, this.now(), this.config.workerDeadMs);
  }

  // ---- retention ----

  /** Deletes worker rows dead for longer than workerRetentionMs. */
  deleteDeadWorkers(): number {
    return deleteDeadWorkers(this.db, this.now(), this.config.workerRetentionMs);
  }

  /**
   * Deletes up to `limit` jobs finished more than jobRetentionMs ago (none when it is 0).
   * See retention.ts for the blob GC hazard.
   */
  deleteExpiredJobs(limit = 1000): DeletedJobs {
    if (this.config.jobRetentionMs <= 0) return { jobIds: [], unreferencedBlobs: [] };
    return deleteFinishedBefore(this.db, this.now() - this.config.jobRetentionMs, limit);
  }

  referencedBlobs(shas: readonly string[]): Set<string> {
    return referencedBlobs(this.db, shas);
  }

  /** Commits pending writes, then closes the database. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batcher.close();
    this.db.close();
  }
}
