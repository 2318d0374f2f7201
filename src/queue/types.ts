import type { ContractDescriptor } from '../contract/contract.js';
import type { JobResult } from '../contract/resultSchema.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];
/** The statuses a job never leaves: the one definition (the API and the CLI use it too). */
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * A job as the queue reports it (camelCase; times are epoch milliseconds). The attempt
 * token is deliberately absent: it is the worker's proof of ownership, handed out only
 * by claim.
 */
export interface JobRecord {
  id: string;
  status: JobStatus;
  /** The named queue it waits in: only nodes serving that queue claim it. */
  queue: string;
  /** The spec as submitted. */
  spec: unknown;
  /** Lower runs first. */
  priority: number;
  /** Attempts started so far (a running job's current attempt number). */
  attempts: number;
  /** Of those, attempts a worker gave back unfinished (a drain): not counted against maxAttempts. */
  releasedAttempts: number;
  maxAttempts: number;
  retryOnExitCodes: number[];
  /** Not claimed before this time. A retried job's next attempt time. */
  runAt: number;
  idempotencyKey: string | null;
  /** Worker holding the lease; null unless running. */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  cancelRequested: boolean;
  createdAt: number;
  /** Last state change (heartbeats do not count). */
  updatedAt: number;
  /** When the current or last attempt started. */
  startedAt: number | null;
  finishedAt: number | null;
  /** The last attempt's result (kept while a retry is pending). */
  result: JobResult | null;
  /** error.type of the last attempt, or WorkerLost/Cancelled set by the queue itself. */
  errorType: string | null;
  errorMessage: string | null;
  /** Contract version the result was written with. */
  contractVersion: string | null;
}

/**
 * A job a worker now holds, from claim() or adopt(). The token is produced by the
 * backend and must come back with heartbeats, the result and a release; any other
 * value (an older attempt's, a guessed one) is refused as stale.
 */
export interface ClaimedJob {
  id: string;
  /** Its named queue: the pool counts its per-queue slots by it. */
  queue: string;
  /** 1-based attempt number (goes on the container label). Never reused for a job. */
  attempt: number;
  /** Opaque, unguessable, unique per attempt (and per adoption). */
  token: string;
  /** The spec as stored at submit. */
  spec: unknown;
  priority: number;
  maxAttempts: number;
  /** Epoch ms by the backend's clock. */
  leaseExpiresAt: number;
  /** When it became due (its queue wait starts here); set by claims, absent for adoptions. */
  runAt?: number;
}

/** One job to enqueue, already validated and resolved to numbers. */
export interface EnqueueItem {
  spec: unknown;
  /** Named queue (QUEUE_NAME_PATTERN). @defaultValue 'default' */
  queue?: string;
  /** @defaultValue 0 */
  priority?: number;
  /** Epoch ms. @defaultValue now */
  runAt?: number;
  maxAttempts: number;
  /** @defaultValue [] */
  retryOnExitCodes?: number[];
  /** @defaultValue null */
  idempotencyKey?: string | null;
  /**
   * The only worker that may claim this job (runbox run's own pool); it must be
   * registered already. @defaultValue null: any worker
   */
  reservedFor?: string | null;
  /** Hash of the submitted body, compared when the idempotency key exists. @defaultValue null */
  requestHash?: string | null;
}

export interface EnqueueOutcome {
  job: JobRecord;
  /** False when the idempotency key already named a job: that job is returned as is. */
  created: boolean;
}

/** A job a worker says it holds: heartbeats and releases name jobs by these. */
export interface HeldRef {
  id: string;
  token: string;
}

/** What a claim asks for. Objects, so a backend feature (named queues) is one more field. */
export interface ClaimRequest {
  workerId: string;
  /** Most jobs to take at once (a pool claims into a local buffer); 0 takes none. */
  limit: number;
  /**
   * Take only jobs reserved for this worker (runbox run's pool), instead of the shared
   * queue's. @defaultValue false
   */
  reserved?: boolean | undefined;
  /**
   * Named queues to take from, each at most min(its own limit, `limit`) jobs (a node's free
   * slots per queue). Ignored for reserved claims. @defaultValue [{ name: 'default', limit }]
   */
  queues?: ReadonlyArray<{ name: string; limit: number }> | undefined;
}

/** A queue name: what config's --queues and a job's `queue` accept. */
export const QUEUE_NAME_PATTERN = '^[a-z0-9._-]{1,64}$';
export const DEFAULT_QUEUE = 'default';

export interface HeartbeatOutcome {
  /** Still ours: lease renewed. */
  held: string[];
  /** No longer ours (requeued, re-claimed, finished): the worker must abort it and not record. */
  lost: string[];
  /** Held, and someone asked to cancel it: kill the container and finish as Cancelled. */
  cancelRequested: string[];
}

export interface FinishItem {
  id: string;
  token: string;
  result: JobResult;
  /**
   * sha256 keys of the blobs the result refers to (logs, outputs), recorded for blob GC
   * in the same transaction as the result. @defaultValue blobsOfResult(result)
   */
  blobs?: readonly string[];
}

/**
 * 'recorded': the result is the job's (final, or the job is queued for its retry).
 * 'cancelled': recorded, and the job ended cancelled: its cancel was accepted before this
 * commit (a success then ends Cancelled with its outputs kept, a failure is not retried),
 * which the pool may not have heard of yet.
 * 'stale': the token is not the live attempt's (lease taken over, or already finished);
 * nothing was recorded.
 */
export type FinishOutcome = 'recorded' | 'cancelled' | 'stale';

export interface CancelOutcome {
  job: JobRecord;
  /**
   * 'cancelled': it was queued and is now cancelled.
   * 'requested': it is running; its worker sees the request at its next heartbeat,
   *   kills the container and finishes it as Cancelled (partial output kept).
   * 'already-final': it had ended; nothing changed.
   */
  outcome: 'cancelled' | 'requested' | 'already-final';
}

export interface ReapOutcome {
  /** Back to queued with WorkerLost, to run again after backoff. */
  requeued: string[];
  /** Attempts spent: failed with WorkerLost. */
  failed: string[];
  /** A cancel was requested and the worker vanished: ended cancelled. */
  cancelled: string[];
}

export interface ListJobsArgs {
  status?: JobStatus | undefined;
  /** @defaultValue 50, at most 1000 */
  limit?: number | undefined;
  /** The nextCursor of the previous page. */
  cursor?: string | null | undefined;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Pass as cursor for the next page; null on the last page. */
  nextCursor: string | null;
}

/** One minute of the dashboard's chart (see JobStore.activity). */
export interface ActivityBucket {
  /** Start of the bucket, ms since the epoch. */
  start: number;
  submitted: number;
  /** Jobs that left the queue: started, or cancelled before they started. */
  dequeued: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Jobs waiting at the end of the bucket (the last bucket: now). */
  queued: number;
}

export interface OutcomeCount {
  status: 'succeeded' | 'failed' | 'cancelled';
  /** null for succeeded. */
  errorType: string | null;
  count: number;
}

export interface RunningJob {
  id: string;
  attempt: number;
  owner: string | null;
  leaseExpiresAt: number | null;
}

export interface DeletedJobs {
  jobIds: string[];
  /** Blobs the deleted jobs referred to that no remaining job refers to. */
  unreferencedBlobs: string[];
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** runbox version of the worker's build. */
  version: string;
  /** The contract the worker's build writes results with (schema optional). */
  contract: Pick<ContractDescriptor, 'name' | 'version' | 'fingerprint'> & { schema?: unknown };
  /** Named queues it serves, with its slots for each (GET /v1/queues). @defaultValue {} */
  queues?: Readonly<Record<string, number>> | undefined;
  /**
   * Where its node's API answers other nodes (advertiseUrl), for following the logs of
   * the jobs it runs from another node. Kept by backends shared across hosts.
   * @defaultValue null
   */
  address?: string | null | undefined;
}

/** One named queue as GET /v1/queues shows it. */
export interface QueueSummary {
  name: string;
  /** Jobs waiting, due or not. */
  queued: number;
  /** Those of them due now (run_at reached): the backlog; the rest wait for their run_at. */
  due: number;
  running: number;
  /** When the longest-waiting due job became due (epoch ms); null when none is due. */
  oldestDueAt: number | null;
  /** Live workers serving it, and their slots for it in total. */
  workers: number;
  slots: number;
}

export interface WorkerRecord {
  id: string;
  host: string;
  pid: number;
  version: string;
  contract: { name: string; version: string; fingerprint: string };
  startedAt: number;
  lastHeartbeatAt: number;
  stoppedAt: number | null;
  /**
   * Its process was found gone without stopping (markWorkerLost): dead, though stoppedAt
   * is set, until retention deletes the row.
   */
  lost: boolean;
  /** Not stopped and heard from within workerDeadMs (by the backend's clock). */
  alive: boolean;
  /** Its node's API for other nodes (WorkerInfo.address); absent where not kept. */
  address?: string | null;
  /** Named queues it serves, with its slots for each; {} for a node that runs no jobs. */
  queues: Readonly<Record<string, number>>;
}
