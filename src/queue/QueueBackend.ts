import type { Logger } from '../log.js';
import type { Config } from '../config.js';
import type { ContractDescriptor } from '../contract/contract.js';
import type {
  ActivityBucket,
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  DeletedJobs,
  EnqueueItem,
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
  QueueSummary,
  ReapOutcome,
  RunningJob,
  WorkerInfo,
  WorkerRecord,
} from './types.js';

/*
 * The queue seam. A backend (sqlite/, postgres/) implements QueueBackend; callers hold
 * only the audience they need (the API a JobStore, the worker pool a WorkQueue and a
 * WorkerRegistry, the sweeps QueueMaintenance), so a second backend is a new folder.
 *
 * Rules every backend keeps (test/conformance/queue.suite.ts checks them):
 * - Every method returns a promise; every state change is one transaction: it happens
 *   whole or not at all, and a rejected call changed nothing.
 * - Times are epoch milliseconds produced by the backend's clock (SQLite: the process's;
 *   PostgreSQL: the database's now()). Callers never pass "now"; the only caller times
 *   are EnqueueItem.runAt (a wall-clock time the user asked for) and ages in settings.
 * - Tokens are produced by the backend: opaque, unguessable, fresh per attempt and per
 *   adoption. A heartbeat, finish or release with any other token is stale and changes
 *   nothing.
 * - Claim order: priority ascending, then runAt ascending, then id ascending (ids sort by
 *   creation, so FIFO within one priority and due time). Only jobs with runAt <= now.
 * - Concurrent claims (any number of processes or hosts) never take the same job.
 * - The retry decision (retryPolicy.ts) and the item checks (checkItem.ts) are shared
 *   code; backends call them and do not re-implement them.
 */

/** What a backend can do beyond the contract; callers adapt instead of asking for a kind. */
export interface QueueCapabilities {
  /**
   * Concurrent submit()/finish() calls share commits (a commit window): many small
   * calls cost about one durable write. Without it, callers should batch themselves.
   */
  groupCommit: boolean;
  /**
   * Workers on several hosts may share this queue. Recovery that judges a worker by its
   * pid must then be limited to this host's workers (it already is); nothing else changes.
   */
  multiHost: boolean;
  /**
   * finishAndClaim() records and claims in one transaction. Without it, it is finish()
   * then claim(), and a crash between them leaves results recorded and nothing claimed.
   */
  atomicFinishAndClaim: boolean;
  /**
   * onFinished() also reports jobs finished by other processes (e.g. LISTEN/NOTIFY).
   * Without it, waiters learn of those by polling get().
   */
  crossProcessEvents: boolean;
}

/** The settings a backend's operations read (leases, backoff, liveness, retention). */
export type QueueSettings = Pick<
  Config,
  'lease' | 'retry' | 'commitWindowMs' | 'workerDeadMs' | 'workerRetentionMs' | 'jobRetentionMs'
>;

/** What every backend accepts when it is opened, besides its own config. */
export interface QueueOpenOptions {
  /** The contract this build reads and writes. Tests play other builds. @defaultValue CURRENT_CONTRACT */
  contract?: ContractDescriptor;
  /** Jitter source for retry backoff. @defaultValue Math.random */
  random?: () => number;
  /** Where a backend reports what it recovered from (a fallback taken); else stderr. */
  log?: Logger;
}

/** The API's audience: jobs as clients see them. */
export interface JobStore {
  /**
   * Enqueues items in one transaction: all are stored or none (an invalid item, checked
   * with checkItems, rejects the call with InvalidSpec naming the field, prefixed
   * `jobs.<i>.` when there are several items).
   * A call naming one idempotency key twice, or a key that is not well-formed Unicode
   * or holds NUL, is refused the same way (checkItems): `jobs.<i>.idempotency_key`.
   * Resolves once durable. An idempotency key that already names a stored job returns
   * that job unchanged with created=false when the request hashes match or either is
   * null; different hashes reject the whole call with Conflict (field
   * idempotency_key). New jobs are queued, attempts 0, runAt defaulting to the
   * backend's now.
   */
  submit(items: readonly EnqueueItem[]): Promise<EnqueueOutcome[]>;
  /** The job as stored now, or null. Never includes the token. */
  get(id: string): Promise<JobRecord | null>;
  /**
   * The job's status alone, or null: what a wait polls. Reading the whole row parsed the
   * spec every poll, and a spec carries its input files (`runbox run --file` of 300 MB
   * spent minutes, and gigabytes, on its own polls).
   */
  statusOf(id: string): Promise<JobStatus | null>;
  /**
   * Newest first (id descending), optionally one status. The cursor is the last id of
   * the previous page, so pages are stable while jobs arrive. An unknown status rejects
   * with InvalidSpec (field status). Input files are listed without their content
   * (listedFiles.ts): get() has it.
   */
  list(args?: ListJobsArgs): Promise<JobPage>;
  /**
   * Queued: cancelled at once (errorType Cancelled). Running: cancelRequested set; the
   * worker learns it at its next heartbeat. Final: unchanged ('already-final'). Null for
   * an unknown id. Idempotent: a second cancel of a running job is 'requested' again.
   */
  cancel(id: string): Promise<CancelOutcome | null>;
  /** Queue depth by status, every status present (0 when none). */
  counts(): Promise<Record<JobStatus, number>>;
  /**
   * Every named queue with jobs queued or running (reserved ones not counted) or a live
   * worker serving it, by name: depth, running, oldest due, serving workers and slots.
   */
  queues(): Promise<QueueSummary[]>;
  /** Finished jobs still stored, by status and errorType (for /metrics gauges). */
  finishedByOutcome(): Promise<OutcomeCount[]>;
  /** The last hour by minute (submitted, dequeued, finished, depth), oldest first, for the dashboard. */
  activity(): Promise<ActivityBucket[]>;
  /**
   * Calls listener with ids of jobs whose results were recorded (final, or queued again
   * for a retry), after their commit. At least the jobs this process recorded; other
   * processes' too when capabilities.crossProcessEvents. A hint: waiters still poll.
   * Returns the unsubscribe function.
   */
  onFinished(listener: (ids: readonly string[]) => void): () => void;
}

/** The worker pool's audience: taking jobs, keeping leases, recording results. */
export interface WorkQueue {
  /**
   * Takes up to `limit` due jobs (runAt <= now), in claim order, each moved to running
   * with attempts + 1, a fresh token, leaseOwner = workerId and a lease of
   * settings.lease.expiryMs from now. Without `reserved`, jobs reserved for a worker are
   * never taken; with it, only those reserved for request.workerId. Resolves in claim order.
   */
  claim(request: ClaimRequest): Promise<ClaimedJob[]>;
  /**
   * Renews the leases of jobs whose token is still live (to now + expiryMs), in one
   * transaction. `lost`: the token is no longer live (reaped, released, finished,
   * re-claimed); `cancelRequested`: held, and a cancel was asked.
   */
  heartbeat(workerId: string, jobs: readonly HeldRef[]): Promise<HeartbeatOutcome>;
  /**
   * Records results in one transaction, outcomes in item order. A live token: the retry
   * policy decides (retryPolicy.decideForResult) between a final state and queued again
   * with backoff (result and error kept visible); the result's blobs are recorded as
   * referenced by the job. A token not live: 'stale', nothing written (so a late result
   * never overwrites the live attempt's). A second finish with the same token is stale.
   */
  finish(items: readonly FinishItem[]): Promise<FinishOutcome[]>;
  /**
   * finish(items), then claim(claim), committed together when
   * capabilities.atomicFinishAndClaim. A claim that fails claims nothing and does not
   * undo the results; a finish that fails rejects, and nothing is claimed.
   */
  finishAndClaim(
    items: readonly FinishItem[],
    claim: ClaimRequest,
  ): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }>;
  /**
   * Gives held jobs back unfinished (drain, a re-attach that cannot be done): queued at
   * once (runAt now, no backoff, not a failure; the attempt keeps its number, never
   * reused, and releasedAttempts counts it so it does not count against maxAttempts),
   * except one with a cancel request, which ends cancelled. Returns the ids released;
   * stale tokens release nothing.
   */
  release(jobs: readonly HeldRef[], reason: string): Promise<string[]>;
  /**
   * Startup recovery: takes over job `jobId` if it is running attempt `attempt` and its
   * owner is null, `workerId`, or dead (stopped, or no heartbeat within workerDeadMs):
   * fresh token, lease for workerId. Null otherwise. The old token becomes stale.
   */
  adopt(request: { jobId: string; attempt: number; workerId: string }): Promise<ClaimedJob | null>;
  /** Every running job, id order (recovery: which containers still belong to a job). */
  runningJobs(): Promise<RunningJob[]>;
  /**
   * Optional hint that jobs may have become claimable (submitted elsewhere, a retry came
   * due). Pools poll anyway; this only wakes them sooner. Returns the unsubscribe function.
   */
  onQueued?(listener: () => void): () => void;
}

/** Who is working: the handshake, liveness and the list for /v1/workers. */
export interface WorkerRegistry {
  /**
   * The contract handshake: a worker whose contract this backend's reader cannot read
   * is refused with ContractMismatch and nothing is written. Otherwise upserts the row
   * (startedAt = lastHeartbeatAt = now, not stopped). Idempotent for one id.
   */
  registerWorker(worker: WorkerInfo): Promise<void>;
  /** Records a heartbeat; false when the worker is unknown or stopped (it should stop claiming). */
  heartbeatWorker(workerId: string): Promise<boolean>;
  /** Marks it stopped (idempotent). Its running jobs are not touched. */
  stopWorker(workerId: string): Promise<void>;
  /**
   * Ends a worker whose process is gone without stopping (kill -9, a crash): it claims and
   * heartbeats no more, like a stopped one, but reads dead (`lost`) until retention
   * deletes it, so an operator's dead-worker alert sees it. Idempotent; a stopped
   * worker stays stopped.
   */
  markWorkerLost(workerId: string): Promise<void>;
  /** Not stopped and heard from within workerDeadMs. False for null or unknown ids. */
  isWorkerAlive(workerId: string | null): Promise<boolean>;
  /** Every worker row, newest first, each judged alive or dead as of the backend's now. */
  listWorkers(): Promise<WorkerRecord[]>;
}

/** The reaper, recovery and retention: run by pools and by `runbox gc`. */
export interface QueueMaintenance {
  /**
   * Running jobs whose lease expired (leaseExpiresAt < now), except `keep`: requeued with
   * WorkerLost and backoff while attempts remain, else failed with WorkerLost; one with a
   * cancel request ends cancelled. Then queued jobs reserved for a worker that is dead
   * fail with WorkerLost (listed in `failed`). One transaction. Their tokens become stale.
   */
  reap(keep?: ReadonlySet<string>): Promise<ReapOutcome>;
  /**
   * Every job a worker holds goes back now: 'drain' like release() without tokens;
   * 'lost' like reap() (WorkerLost, backoff, attempts).
   */
  requeueOwnedBy(workerId: string, mode: 'drain' | 'lost'): Promise<ReapOutcome>;
  /** requeueOwnedBy(owner, 'lost') for every owner of a running job that is not alive. */
  requeueOwnedByDeadWorkers(): Promise<ReapOutcome>;
  /** Deletes worker rows stopped or silent for longer than workerRetentionMs; how many. */
  deleteDeadWorkers(): Promise<number>;
  /**
   * Deletes up to `limit` jobs finished more than jobRetentionMs ago (none when it is
   * 0), oldest first, in one transaction, with their blob references. Call again while
   * jobIds.length === limit. unreferencedBlobs: blobs they referred to that no remaining
   * job does (the blob gc still applies its grace period: see maintenance/blobGc.ts).
   */
  deleteExpiredJobs(limit?: number): Promise<DeletedJobs>;
  /** Which of the given blobs some stored job refers to. */
  referencedBlobs(shas: readonly string[]): Promise<Set<string>>;
}

/** A whole backend, as backends.ts creates it and runbox.ts owns it. */
export interface QueueBackend extends JobStore, WorkQueue, WorkerRegistry, QueueMaintenance {
  /** 'sqlite', 'postgres': for logs and doctor, never for branching (use capabilities). */
  readonly kind: string;
  readonly capabilities: QueueCapabilities;
  /**
   * This queue's random id, the same for every process that opens it: containers are
   * labelled with it, and recovery touches only containers carrying it.
   */
  readonly databaseId: string;
  /** The contract this backend reads and writes (stamped on the database at open). */
  readonly contract: ContractDescriptor;
  /** Commits pending writes, then releases connections. Idempotent. */
  close(): Promise<void>;
}
