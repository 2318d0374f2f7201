import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import type { CancelOutcome } from '../types.js';
import type { FinishItem, FinishOutcome } from '../types.js';
import type { HeartbeatOutcome, HeldRef } from '../types.js';
import type { ActivityBucket, JobPage, ListJobsArgs, OutcomeCount, RunningJob } from '../types.js';
import type { ReapOutcome } from '../types.js';
import type { DeletedJobs } from '../types.js';
import type { QueueBackend, QueueOpenOptions, QueueSettings } from '../QueueBackend.js';
import type {
  ClaimedJob,
  ClaimRequest,
  EnqueueItem,
  EnqueueOutcome,
  JobRecord,
  JobStatus,
} from '../types.js';
import type { WorkerInfo } from '../types.js';
import { checkItems } from '../checkItem.js';
import type { Logger } from '../../log.js';
import { cancelJob } from './cancelJob.js';
import { claimJobs, type PgClaimArgs } from './claimJobs.js';
import { RETRYABLE, createPool, transaction } from './db.js';
import { asOpenError } from './unavailable.js';
import { redactUrl } from '../../queueUrl.js';
import { enqueueJobs } from './enqueueJobs.js';
import { allSucceeded, finishAndClaimSuccesses } from './finishAndClaimJobs.js';
import { finishJobs } from './finishJobs.js';
import { heartbeatJobs } from './heartbeatJobs.js';
import { contractRefusal, describeUrl, migrate, readStamp } from './migrate.js';
import { PgNotifications } from './notifications.js';
import { queueSummary, type QueueSummary } from './queueSummary.js';
import { readActivity } from './readActivity.js';
import {
  countByStatus,
  finishedByOutcome,
  getJob,
  getJobStatus,
  listJobs,
  runningJobs,
} from './readJobs.js';
import {
  adoptJob,
  deadOwners,
  failOrphanedReservations,
  releaseJobs,
  requeueExpired,
  requeueOwnedBy,
} from './requeueJobs.js';
import { deleteFinishedBefore, referencedBlobs } from './retention.js';
import {
  deleteDeadWorkers,
  getWorker,
  heartbeatWorker,
  listWorkers,
  registerWorker,
  stopWorker,
  markWorkerLost,
  type PgWorkerRecord,
  type WorkerPlacement,
} from './workers.js';

/** A claim: the seam's request (named queues are part of it now). */
export type PgClaimRequest = ClaimRequest;

/** The seam's settings (commitWindowMs is unused here: no group commit, see capabilities). */
export type PostgresQueueConfig = Omit<QueueSettings, 'commitWindowMs'> &
  Partial<Pick<QueueSettings, 'commitWindowMs'>>;

export interface PostgresQueueOptions extends QueueOpenOptions {
  /** Pool size. @defaultValue 10 */
  poolSize?: number;
  /** Schema holding runbox's tables. @defaultValue 'runbox' */
  schema?: string;
  /** LISTEN for cross-node events. Off for short-lived CLI commands. @defaultValue true */
  listen?: boolean;
}

/**
 * Advisory locks of the maintenance jobs (see tryLock): taken with
 * pg_try_advisory_xact_lock, so one node at a time runs each, the others skip that turn
 * instead of queueing behind it, and a node that dies mid-sweep releases it with its
 * connection.
 */
const REAP_LOCK = 'reap';
const RETENTION_LOCK = 'retention';

/** How often an idle claimer re-reads the contract stamp when no notification came. */
const STAMP_RECHECK_MS = 5000;

/**
 * The queue on PostgreSQL: several runbox nodes on one database. The same operations
 * and semantics as the SQLite Queue (statuses, retry policy, tokens, reservations,
 * cancel), but every time is the database's now(), every state change is one
 * transaction on a pooled connection, and cross-node events travel by LISTEN/NOTIFY.
 */
export class PostgresQueue implements QueueBackend {
  readonly kind = 'postgres';
  readonly capabilities = {
    // Every call is its own transaction; concurrency comes from the pool, not a window.
    groupCommit: false,
    multiHost: true,
    atomicFinishAndClaim: true,
    crossProcessEvents: true,
  } as const;
  readonly contract: ContractDescriptor;
  /** Shared by every node on this database: containers are labelled with it. */
  readonly databaseId: string;
  readonly pool: pg.Pool;
  private readonly config: PostgresQueueConfig;
  private readonly random: () => number;
  private readonly url: string;
  private generation: number;
  private stampCheckedAt = Date.now();
  private refusal: RunboxError | null = null;
  private notifications: PgNotifications | null = null;
  private closed = false;
  /** Names this instance in the notifications of the results it records. */
  private readonly origin = randomUUID();
  private readonly finishedListeners = new Set<(ids: readonly string[]) => void>();
  private readonly jobsListeners = new Set<(queue: string) => void>();
  private readonly cancelListeners = new Set<(id: string) => void>();
  private readonly refusalListeners = new Set<(error: RunboxError) => void>();
  private readonly log: Logger | null;
  /**
   * What the backend recovered from: one-statement finish-and-claims run again after a
   * deadlock (`fastRetries`), and those done again the general way (`fastFallbacks`).
   */
  readonly stats = { fastRetries: 0, fastFallbacks: 0 };

  private constructor(
    pool: pg.Pool,
    url: string,
    opened: { databaseId: string; stampGeneration: number },
    config: PostgresQueueConfig,
    options: PostgresQueueOptions,
  ) {
    this.pool = pool;
    this.url = url;
    this.databaseId = opened.databaseId;
    this.generation = opened.stampGeneration;
    this.config = config;
    this.contract = options.contract ?? CURRENT_CONTRACT;
    this.random = options.random ?? Math.random;
    this.log = options.log ?? null;
  }

  /**
   * Connects, migrates and checks the contract stamp (one transaction under an advisory
   * lock): throws SchemaTooNew or ContractMismatch (exit 78) and leaves nothing open.
   */
  static async open(
    url: string,
    config: PostgresQueueConfig,
    options: PostgresQueueOptions = {},
  ): Promise<PostgresQueue> {
    const schema = options.schema ?? 'runbox';
    const pool = createPool(url, { max: options.poolSize ?? 10, schema });
    try {
      const opened = await migrate(pool, options.contract ?? CURRENT_CONTRACT, url, schema);
      const queue = new PostgresQueue(pool, url, opened, config, options);
      if (options.listen !== false) await queue.listen();
      return queue;
    } catch (error) {
      await pool.end().catch(() => {});
      throw asOpenError(error, redactUrl(url));
    }
  }

  private async listen(): Promise<void> {
    this.notifications = new PgNotifications(this.url, {
      jobs: (queue) => this.jobsListeners.forEach((l) => l(queue)),
      // Our own finishes were told to our listeners at their commit (see announce).
      finished: (ids, origin) => {
        if (origin !== this.origin) this.announce(ids);
      },
      cancel: (id) => this.cancelListeners.forEach((l) => l(id)),
      contract: () => void this.recheckStamp().catch(() => {}),
      // Whatever was announced while the connection was down is lost: wake everyone.
      connected: () => this.jobsListeners.forEach((l) => l('')),
    });
    await this.notifications.start();
  }

  /** Where this queue lives, for messages (never the password). */
  get where(): string {
    return describeUrl(this.url);
  }

  // ---- events from every node ----

  /** Results recorded by any node (via NOTIFY). Returns the unsubscribe function. */
  onFinished(listener: (ids: readonly string[]) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  /**
   * A job became claimable in `queue` (any node submitted or released one; '' when the
   * listening connection came back and anything may have been missed).
   */
  onJobs(listener: (queue: string) => void): () => void {
    this.jobsListeners.add(listener);
    return () => this.jobsListeners.delete(listener);
  }

  /** WorkQueue.onQueued: the wake-up hint, whatever the queue. */
  onQueued(listener: () => void): () => void {
    return this.onJobs(() => listener());
  }

  /** A cancel was requested for a running job (any node). */
  onCancel(listener: (id: string) => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** This node may no longer claim: a newer build raised the stamp past what it reads. */
  onRefused(listener: (error: RunboxError) => void): () => void {
    this.refusalListeners.add(listener);
    return () => this.refusalListeners.delete(listener);
  }

  /** Non-null once this node must stop claiming (see onRefused). */
  get refused(): RunboxError | null {
    return this.refusal;
  }

  private async recheckStamp(): Promise<void> {
    this.stampCheckedAt = Date.now();
    const { stamp, generation } = await readStamp(this.pool);
    if (generation === this.generation || stamp === null) return;
    const refusal = contractRefusal(stamp, this.contract, this.where);
    if (refusal === null) {
      this.generation = generation;
      return;
    }
    if (this.refusal !== null) return;
    this.refusal = refusal;
    this.refusalListeners.forEach((l) => l(refusal));
  }

  // ---- jobs: API side ----

  async submit(items: readonly EnqueueItem[]): Promise<EnqueueOutcome[]> {
    checkItems(items);
    return transaction(this.pool, (client) =>
      enqueueJobs(client, items, (item) => item.queue ?? 'default'),
    );
  }

  get(id: string): Promise<JobRecord | null> {
    return getJob(this.pool, id);
  }

  statusOf(id: string): Promise<JobStatus | null> {
    return getJobStatus(this.pool, id);
  }

  list(args: ListJobsArgs = {}): Promise<JobPage> {
    return listJobs(this.pool, args);
  }

  async cancel(id: string): Promise<CancelOutcome | null> {
    try {
      return await transaction(this.pool, (client) => cancelJob(client, id));
    } catch (error) {
      if (error instanceof RunboxError && error.type === 'NotFound') return null;
      throw error;
    }
  }

  counts(): Promise<Record<JobStatus, number>> {
    return countByStatus(this.pool);
  }

  finishedByOutcome(): Promise<OutcomeCount[]> {
    return finishedByOutcome(this.pool);
  }

  activity(): Promise<ActivityBucket[]> {
    return readActivity(this.pool);
  }

  // ---- jobs: worker side ----

  /**
   * Takes up to `limit` due jobs, best first: from the named queues with their own limits
   * when the request names them, else from 'default'. Claims nothing once a newer build
   * raised the contract stamp past this one (see onRefused).
   */
  async claim(request: PgClaimRequest): Promise<ClaimedJob[]> {
    if (this.refusal !== null || request.limit <= 0) return [];
    const claimed = await claimJobs(this.pool, this.claimArgs(request));
    await this.recheckWhenIdle(claimed.length);
    return claimed;
  }

  private claimArgs(request: PgClaimRequest): PgClaimArgs {
    const slots =
      request.reserved === true
        ? [{ queue: '', limit: request.limit }]
        : (request.queues?.map((q) => ({
            queue: q.name,
            limit: Math.min(q.limit, request.limit),
          })) ?? [{ queue: 'default', limit: request.limit }]);
    return {
      workerId: request.workerId,
      slots,
      leaseMs: this.config.lease.expiryMs,
      generation: this.generation,
      reserved: request.reserved,
    };
  }

  // An empty claim may be the stamp guard at work: look at the stamp now and then.
  private async recheckWhenIdle(claimed: number): Promise<void> {
    if (claimed === 0 && Date.now() - this.stampCheckedAt > STAMP_RECHECK_MS) {
      await this.recheckStamp();
    }
  }

  heartbeat(_workerId: string, jobs: readonly HeldRef[]): Promise<HeartbeatOutcome> {
    return heartbeatJobs(this.pool, jobs, this.config.lease.expiryMs);
  }

  async finish(items: readonly FinishItem[]): Promise<FinishOutcome[]> {
    const outcomes = await transaction(this.pool, (client) =>
      finishJobs(client, items, {
        retry: this.config.retry,
        contractVersion: this.contract.version,
        random: this.random,
        origin: this.origin,
      }),
    );
    this.announceRecorded(items, outcomes);
    return outcomes;
  }

  /** Tells this process's listeners, once committed, the jobs whose results it recorded. */
  private announceRecorded(items: readonly FinishItem[], outcomes: readonly FinishOutcome[]) {
    const ids = items.filter((_, i) => outcomes[i] !== 'stale').map((item) => item.id);
    if (ids.length > 0) this.announce([...new Set(ids)]);
  }

  private announce(ids: readonly string[]): void {
    for (const listener of this.finishedListeners) listener(ids);
  }

  /**
   * Records results and claims the next jobs in one transaction: one commit instead of
   * two. The claim runs in a savepoint: a claim that fails claims nothing and the
   * results still commit.
   */
  async finishAndClaim(
    items: readonly FinishItem[],
    claim: PgClaimRequest,
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
    const answer =
      (await this.finishAndClaimFast(items, claim)) ??
      (await this.finishAndClaimInTransaction(items, claim));
    this.announceRecorded(items, answer.outcomes);
    await this.recheckWhenIdle(answer.claimed.length);
    return answer;
  }

  /**
   * Successes only (the common case, and every no-op job): one statement, one round trip
   * (finishAndClaimJobs.ts), whatever the batch size (it was capped at 32 while its answer
   * grew as batch²; see there). null when it does not apply or failed past retrying: a
   * failed statement changed nothing, and the general way then records the results,
   * whatever the claim does.
   */
  private async finishAndClaimFast(
    items: readonly FinishItem[],
    claim: PgClaimRequest,
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] } | null> {
    if (items.length === 0 || !allSucceeded(items)) return null;
    const args = this.claimArgs(claim);
    const limited =
      this.refusal === null && claim.limit > 0
        ? args
        : { ...args, slots: args.slots.map((s) => ({ ...s, limit: 0 })) };
    for (let attempt = 1; ; attempt++) {
      try {
        return await finishAndClaimSuccesses(this.pool, items, limited, {
          contractVersion: this.contract.version,
          origin: this.origin,
        });
      } catch (error) {
        // Only an error the server reported: the statement was rolled back, so it may run
        // again. A lost connection leaves its commit unknown (a second recording would
        // call it stale): that error goes to the caller.
        if (!(error instanceof pg.DatabaseError)) throw error;
        // A deadlock with a heartbeat, cancel or reaper updating the same running rows in
        // another order, or a serialization failure: the same statement again, as
        // transaction() does for the general way.
        if (attempt < 5 && RETRYABLE.has(error.code ?? '')) {
          this.stats.fastRetries++;
          continue;
        }
        // Anything else: the general way records the results whatever its claim does
        // (the claim runs in a savepoint there), so a claim that fails (statement_timeout,
        // a full NOTIFY queue, a bug in the claim's SQL) never costs the results. It
        // should not happen, so it is said out loud and counted, never silent.
        this.stats.fastFallbacks++;
        this.warn(
          `the one-statement finish-and-claim failed (SQLSTATE ${error.code ?? '?'}); ` +
            'recording these results in a transaction instead',
          error,
        );
        return null;
      }
    }
  }

  private warn(message: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    if (this.log) this.log.warn(message, { error: detail });
    else process.emitWarning(`${message}: ${detail}`, { code: 'RUNBOX_PG_QUEUE' });
  }

  private async finishAndClaimInTransaction(
    items: readonly FinishItem[],
    claim: PgClaimRequest,
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
    return transaction(this.pool, async (client) => {
      const outcomes = await finishJobs(client, items, {
        retry: this.config.retry,
        contractVersion: this.contract.version,
        random: this.random,
        origin: this.origin,
      });
      let claimed: ClaimedJob[] = [];
      if (this.refusal === null && claim.limit > 0) {
        await client.query('SAVEPOINT claim');
        try {
          claimed = await claimJobs(client, this.claimArgs(claim));
          await client.query('RELEASE SAVEPOINT claim');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT claim');
        }
      }
      return { outcomes, claimed };
    });
  }

  release(jobs: readonly HeldRef[], reason: string): Promise<string[]> {
    return transaction(this.pool, (client) => releaseJobs(client, jobs, reason));
  }

  adopt(request: { jobId: string; attempt: number; workerId: string }): Promise<ClaimedJob | null> {
    return adoptJob(this.pool, {
      ...request,
      leaseMs: this.config.lease.expiryMs,
      deadMs: this.config.workerDeadMs,
    });
  }

  runningJobs(): Promise<RunningJob[]> {
    return runningJobs(this.pool);
  }

  /**
   * Expired leases, then reservations whose `runbox run` process is gone, under the
   * reaper's advisory lock: the node that gets it reaps for all; the others find it
   * taken and skip this turn (nothing is reaped twice either way: each row is locked).
   */
  reap(keep: ReadonlySet<string> = new Set()): Promise<ReapOutcome> {
    return transaction(this.pool, async (client) => {
      const empty: ReapOutcome = { requeued: [], failed: [], cancelled: [] };
      if (!(await tryLock(client, REAP_LOCK))) return empty;
      const outcome = await requeueExpired(client, this.config.retry, this.random, keep);
      const orphaned = await failOrphanedReservations(client, this.config.workerDeadMs);
      return orphaned.length === 0
        ? outcome
        : { ...outcome, failed: [...outcome.failed, ...orphaned] };
    });
  }

  /**
   * requeueOwnedBy(owner, 'lost') for every owner of a running job that is not alive by
   * the database's clock, on whichever node it ran.
   */
  async requeueOwnedByDeadWorkers(): Promise<ReapOutcome> {
    const total: ReapOutcome = { requeued: [], failed: [], cancelled: [] };
    for (const owner of await deadOwners(this.pool, this.config.workerDeadMs)) {
      const outcome = await this.requeueOwnedBy(owner, 'lost');
      total.requeued.push(...outcome.requeued);
      total.failed.push(...outcome.failed);
      total.cancelled.push(...outcome.cancelled);
    }
    return total;
  }

  requeueOwnedBy(workerId: string, mode: 'drain' | 'lost'): Promise<ReapOutcome> {
    return transaction(this.pool, (client) =>
      requeueOwnedBy(client, workerId, mode, this.config.retry, this.random),
    );
  }

  // ---- workers ----

  /** `placement`: the queues this worker serves with their slots, and its node's address. */
  registerWorker(worker: WorkerInfo, placement: WorkerPlacement = {}): Promise<void> {
    return registerWorker(this.pool, worker, this.contract, placement);
  }

  heartbeatWorker(workerId: string): Promise<boolean> {
    return heartbeatWorker(this.pool, workerId);
  }

  stopWorker(workerId: string): Promise<void> {
    return stopWorker(this.pool, workerId);
  }

  markWorkerLost(workerId: string): Promise<void> {
    return markWorkerLost(this.pool, workerId);
  }

  async isWorkerAlive(workerId: string | null): Promise<boolean> {
    if (workerId === null) return false;
    return (await getWorker(this.pool, workerId, this.config.workerDeadMs))?.alive ?? false;
  }

  listWorkers(): Promise<PgWorkerRecord[]> {
    return listWorkers(this.pool, this.config.workerDeadMs);
  }

  /** Depth, running, oldest due and serving workers of every queue (GET /v1/queues). */
  queues(): Promise<QueueSummary[]> {
    return queueSummary(this.pool, this.config.workerDeadMs);
  }

  // ---- retention ----

  deleteDeadWorkers(): Promise<number> {
    return deleteDeadWorkers(this.pool, this.config.workerRetentionMs);
  }

  /** Up to `limit` jobs finished more than jobRetentionMs ago, by one node at a time. */
  deleteExpiredJobs(limit = 1000): Promise<DeletedJobs> {
    const none: DeletedJobs = { jobIds: [], unreferencedBlobs: [] };
    if (this.config.jobRetentionMs <= 0) return Promise.resolve(none);
    return transaction(this.pool, async (client) => {
      if (!(await tryLock(client, RETENTION_LOCK))) return none;
      return deleteFinishedBefore(client, this.config.jobRetentionMs, limit);
    });
  }

  referencedBlobs(shas: readonly string[]): Promise<Set<string>> {
    return referencedBlobs(this.pool, shas);
  }

  /** Stops listening and closes the pool (waits for queries in flight). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifications?.close();
    await this.pool.end();
  }
}

// Keyed by schema and job: installations in two schemas of one database each have their
// own reaper; hashtext's collisions would only make one skip a turn.
async function tryLock(client: pg.PoolClient, job: string): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.' || $1)) AS locked",
    [job],
  );
  return result.rows[0]?.locked === true;
}
