import { CURRENT_CONTRACT, type ContractDescriptor } from '../../contract/contract.js';
import { checkItems } from '../checkItem.js';
import type {
  QueueBackend,
  QueueCapabilities,
  QueueOpenOptions,
  QueueSettings,
} from '../QueueBackend.js';
import type {
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  DeletedJobs,
  EnqueueItem,
  QueueSummary,
  EnqueueOutcome,
  FinishItem,
  FinishOutcome,
  HeartbeatOutcome,
  HeldRef,
  JobPage,
  JobRecord,
  JobStatus,
  ListJobsArgs,
  OutcomeCount,
  ActivityBucket,
  ReapOutcome,
  RunningJob,
  WorkerInfo,
  WorkerRecord,
} from '../types.js';
import { cancelJob } from './cancelJob.js';
import { claimJobs } from './claimJobs.js';
import { queueSummary } from './queueSummary.js';
import { CommitBatcher } from './CommitBatcher.js';
import { immediate, savepoint, type Db } from './db.js';
import { enqueueJobs } from './enqueueJobs.js';
import { finishJobs } from './finishJobs.js';
import { heartbeatJobs } from './heartbeatJobs.js';
import { openDatabase } from './openDatabase.js';
import { readActivity } from './readActivity.js';
import {
  countByStatus,
  finishedByOutcome,
  getJob,
  getJobStatus,
  listJobs,
  runningJobs,
} from './readJobs.js';
import { adoptJob, releaseJobs, requeueExpired, requeueOwnedBy } from './requeueJobs.js';
import { failOrphanedReservations } from './reservations.js';
import { deleteFinishedBefore, referencedBlobs } from './retention.js';
import {
  deleteDeadWorkers,
  getWorker,
  heartbeatWorker,
  listWorkers,
  registerWorker,
  stopWorker,
  markWorkerLost,
} from './workers.js';

/** What opening a SQLite queue reads: the file and the queue settings (Config has both). */
export type SqliteQueueConfig = QueueSettings & { dbPath: string };

export interface SqliteQueueOptions extends QueueOpenOptions {
  /** Clock (tests move it; PostgreSQL has no such knob: its clock is the server's). @defaultValue Date.now */
  now?: () => number;
  /** Commit at once when this many writes are pending. @defaultValue 1000 */
  maxBatch?: number;
}

const CAPABILITIES: QueueCapabilities = {
  groupCommit: true,
  // One file: every process is on this host.
  multiHost: false,
  atomicFinishAndClaim: true,
  crossProcessEvents: false,
};

const NO_JOBS: ReapOutcome = { requeued: [], failed: [], cancelled: [] };

/**
 * The queue on one SQLite file: one connection, one commit batcher, and the operations
 * with this process's settings filled in.
 *
 * Writes that a caller waits on for durability (submit, finish) are group-committed
 * through the batcher and resolve after the commit. The rest are small synchronous
 * transactions run at once: claim and heartbeat must answer at once, and cancel and the
 * reaper are rare. They are async only because the seam is (QueueBackend.ts); the
 * answer is computed in the call itself, so a SQLite caller loses nothing but a tick.
 */
export class SqliteQueue implements QueueBackend {
  readonly kind = 'sqlite';
  readonly capabilities = CAPABILITIES;
  readonly db: Db;
  readonly batcher: CommitBatcher;
  readonly contract: ContractDescriptor;
  readonly databaseId: string;
  private readonly config: QueueSettings;
  private readonly now: () => number;
  private readonly random: () => number;
  private closed = false;
  private readonly finishedListeners = new Set<(ids: readonly string[]) => void>();

  private constructor(
    db: Db,
    databaseId: string,
    config: QueueSettings,
    options: SqliteQueueOptions,
  ) {
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
  static open(config: SqliteQueueConfig, options: SqliteQueueOptions = {}): SqliteQueue {
    const { db, databaseId } = openDatabase(config.dbPath, {
      ...(options.contract ? { contract: options.contract } : {}),
      workerDeadMs: config.workerDeadMs,
    });
    return new SqliteQueue(db, databaseId, config, options);
  }

  // ---- JobStore ----

  async submit(items: readonly EnqueueItem[]): Promise<EnqueueOutcome[]> {
    checkItems(items);
    const now = this.now();
    return this.batcher.run((db) => enqueueJobs(db, items, now));
  }

  async get(id: string): Promise<JobRecord | null> {
    return getJob(this.db, id);
  }

  async statusOf(id: string): Promise<JobStatus | null> {
    return getJobStatus(this.db, id);
  }

  async list(args: ListJobsArgs = {}): Promise<JobPage> {
    return listJobs(this.db, args);
  }

  async cancel(id: string): Promise<CancelOutcome | null> {
    if (getJob(this.db, id) === null) return null;
    return cancelJob(this.db, id, this.now());
  }

  async counts(): Promise<Record<JobStatus, number>> {
    return countByStatus(this.db);
  }

  async queues(): Promise<QueueSummary[]> {
    return queueSummary(this.db, this.now(), this.config.workerDeadMs);
  }

  async activity(): Promise<ActivityBucket[]> {
    return readActivity(this.db, { now: this.now() });
  }

  async finishedByOutcome(): Promise<OutcomeCount[]> {
    return finishedByOutcome(this.db);
  }

  /**
   * Only jobs this process recorded (capabilities.crossProcessEvents is false): a
   * waiter here reads them at once; jobs finished by other processes are seen by polling.
   */
  onFinished(listener: (ids: readonly string[]) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  private announceFinished(items: readonly FinishItem[], outcomes: readonly FinishOutcome[]) {
    if (this.finishedListeners.size === 0) return;
    const ids = items.filter((_, i) => outcomes[i] !== 'stale').map((item) => item.id);
    if (ids.length === 0) return;
    for (const listener of this.finishedListeners) listener(ids);
  }

  // ---- WorkQueue ----

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.claimNow(this.db, request, this.now());
  }

  private claimNow(db: Db, request: ClaimRequest, now: number): ClaimedJob[] {
    return claimJobs(db, {
      workerId: request.workerId,
      limit: request.limit,
      leaseMs: this.config.lease.expiryMs,
      now,
      reserved: request.reserved,
      queues: request.queues,
    });
  }

  async heartbeat(_workerId: string, jobs: readonly HeldRef[]): Promise<HeartbeatOutcome> {
    return heartbeatJobs(this.db, jobs, this.config.lease.expiryMs, this.now());
  }

  /** Group-committed: resolves after the commit that holds these results. */
  async finish(items: readonly FinishItem[]): Promise<FinishOutcome[]> {
    const outcomes = await this.batcher.run((db) => this.finishNow(db, items, this.now()));
    this.announceFinished(items, outcomes);
    return outcomes;
  }

  private finishNow(db: Db, items: readonly FinishItem[], now: number): FinishOutcome[] {
    return finishJobs(db, items, {
      now,
      retry: this.config.retry,
      contractVersion: this.contract.version,
      random: this.random,
    });
  }

  /**
   * Records results and claims in the same transaction, committed on the next turn of
   * the event loop (not after the window): the worker pool's hot path. One commit
   * instead of two, and the slots whose results these are get their next job the moment
   * their results are durable.
   */
  async finishAndClaim(
    items: readonly FinishItem[],
    claim: ClaimRequest,
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
    const answer = await this.batcher.run(
      (db) => {
        const now = this.now();
        const outcomes = this.finishNow(db, items, now);
        let claimed: ClaimedJob[] = [];
        try {
          // Its own savepoint: a claim that fails must not take the results down with it.
          claimed = savepoint(db, () => this.claimNow(db, claim, now));
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

  async release(jobs: readonly HeldRef[], reason: string): Promise<string[]> {
    return releaseJobs(this.db, jobs, reason, this.now());
  }

  async adopt(request: {
    jobId: string;
    attempt: number;
    workerId: string;
  }): Promise<ClaimedJob | null> {
    return adoptJob(this.db, {
      ...request,
      leaseMs: this.config.lease.expiryMs,
      now: this.now(),
      deadMs: this.config.workerDeadMs,
    });
  }

  async runningJobs(): Promise<RunningJob[]> {
    return runningJobs(this.db);
  }

  // ---- QueueMaintenance ----

  /** Expired leases, then reservations whose `runbox run` process is gone (failed). */
  async reap(keep?: ReadonlySet<string>): Promise<ReapOutcome> {
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

  async requeueOwnedBy(workerId: string, mode: 'drain' | 'lost'): Promise<ReapOutcome> {
    return requeueOwnedBy(this.db, workerId, mode, this.now(), this.config.retry, this.random);
  }

  async requeueOwnedByDeadWorkers(): Promise<ReapOutcome> {
    const total: ReapOutcome = { requeued: [], failed: [], cancelled: [] };
    const owners = new Set(runningJobs(this.db).map((job) => job.owner));
    for (const owner of owners) {
      if (owner === null || this.alive(owner)) continue;
      const outcome = requeueOwnedBy(
        this.db,
        owner,
        'lost',
        this.now(),
        this.config.retry,
        this.random,
      );
      total.requeued.push(...outcome.requeued);
      total.failed.push(...outcome.failed);
      total.cancelled.push(...outcome.cancelled);
    }
    return total;
  }

  async deleteDeadWorkers(): Promise<number> {
    return deleteDeadWorkers(this.db, this.now(), this.config.workerRetentionMs);
  }

  /** See retention.ts for the blob GC hazard. */
  async deleteExpiredJobs(limit = 1000): Promise<DeletedJobs> {
    if (this.config.jobRetentionMs <= 0) return { jobIds: [], unreferencedBlobs: [] };
    return deleteFinishedBefore(this.db, this.now() - this.config.jobRetentionMs, limit);
  }

  async referencedBlobs(shas: readonly string[]): Promise<Set<string>> {
    return referencedBlobs(this.db, shas);
  }

  // ---- WorkerRegistry ----

  async registerWorker(worker: WorkerInfo): Promise<void> {
    registerWorker(this.db, worker, this.contract, this.now());
  }

  async heartbeatWorker(workerId: string): Promise<boolean> {
    return heartbeatWorker(this.db, workerId, this.now());
  }

  async stopWorker(workerId: string): Promise<void> {
    stopWorker(this.db, workerId, this.now());
  }

  async markWorkerLost(workerId: string): Promise<void> {
    markWorkerLost(this.db, workerId, this.now());
  }

  async isWorkerAlive(workerId: string | null): Promise<boolean> {
    return workerId !== null && this.alive(workerId);
  }

  private alive(workerId: string): boolean {
    return getWorker(this.db, workerId, this.now(), this.config.workerDeadMs)?.alive ?? false;
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return listWorkers(this.db, this.now(), this.config.workerDeadMs);
  }

  /** Commits pending writes, then closes the database. Idempotent. */
  async close(): Promise<void> {
    this.closeNow();
  }

  /** close() for callers that cannot wait (process exit paths, tests' afterEach). */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.batcher.close();
    this.db.close();
  }
}

export { NO_JOBS };
