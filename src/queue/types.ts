import type { JobResult } from '../contract/resultSchema.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];
export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * A job as the queue reports it (camelCase; times are epoch milliseconds). The attempt
 * token is deliberately absent: it is the worker's proof of ownership, handed out only
 * by claim.
 */
export interface JobRecord {
  id: string;
  status: JobStatus;
  /** The spec as submitted. */
  spec: unknown;
  /** Lower runs first. */
  priority: number;
  /** Attempts started so far (a running job's current attempt number). */
  attempts: number;
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

/** A job a worker now holds. The token must come back with heartbeats and the result. */
export interface ClaimedJob {
  id: string;
  /** 1-based attempt number (goes on the container label). */
  attempt: number;
  token: string;
  spec: unknown;
  priority: number;
  maxAttempts: number;
  leaseExpiresAt: number;
  /** When it became due; set by claims (adoptions leave it out). */
  runAt?: number;
}

/** One job to enqueue, already validated and resolved to numbers. */
export interface EnqueueItem {
  spec: unknown;
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

export interface JobRow {
  id: string;
  spec: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  max_attempts: number;
  retry_on_exit_codes: string;
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempt_token: string | null;
  idempotency_key: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  error_type: string | null;
  error_message: string | null;
  contract_version: string | null;
  cancel_requested: number;
}

export function rowToJob(row: JobRow): JobRecord {
  return {
    id: row.id,
    status: row.status,
    spec: JSON.parse(row.spec) as unknown,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    retryOnExitCodes: JSON.parse(row.retry_on_exit_codes) as number[],
    runAt: row.run_at,
    idempotencyKey: row.idempotency_key,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequested: row.cancel_requested !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    result: row.result === null ? null : (JSON.parse(row.result) as JobResult),
    errorType: row.error_type,
    errorMessage: row.error_message,
    contractVersion: row.contract_version,
  };
}
