import type { JobResult } from '../../contract/resultSchema.js';
import type { ClaimedJob, JobRecord, JobStatus } from '../types.js';

/**
 * A jobs row as pg returns it with db.ts's parsers: times are epoch milliseconds, json
 * columns parsed, integer[] an array. attempt_token and request_hash are never selected
 * into a record (the token is the worker's proof of ownership).
 */
export interface PgJobRow {
  id: string;
  queue: string;
  spec: unknown;
  status: JobStatus;
  priority: number;
  attempts: number;
  released_attempts: number;
  max_attempts: number;
  retry_on_exit_codes: number[];
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  idempotency_key: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: JobResult | null;
  error_type: string | null;
  error_message: string | null;
  contract_version: string | null;
  cancel_requested: boolean;
}

/** The columns of a JobRecord, qualified by `j.` (every statement aliases jobs as j). */
export const JOB_COLUMNS = `j.id, j.queue, j.spec, j.status, j.priority, j.attempts, j.released_attempts, j.max_attempts,
  j.retry_on_exit_codes, j.run_at, j.lease_owner, j.lease_expires_at, j.idempotency_key,
  j.created_at, j.updated_at, j.started_at, j.finished_at, j.result, j.error_type,
  j.error_message, j.contract_version, j.cancel_requested`;

export function rowToJob(row: PgJobRow): JobRecord {
  return {
    id: row.id,
    status: row.status,
    queue: row.queue,
    spec: row.spec,
    priority: row.priority,
    attempts: row.attempts,
    releasedAttempts: row.released_attempts,
    maxAttempts: row.max_attempts,
    retryOnExitCodes: row.retry_on_exit_codes,
    runAt: row.run_at,
    idempotencyKey: row.idempotency_key,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequested: row.cancel_requested,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    result: row.result,
    errorType: row.error_type,
    errorMessage: row.error_message,
    contractVersion: row.contract_version,
  };
}

/** What a claim or an adoption returns about the job the worker now holds. */
export const CLAIMED_COLUMNS =
  'j.id, j.queue, j.attempts, j.attempt_token, j.spec, j.priority, j.run_at, j.max_attempts, j.lease_expires_at';

export interface PgClaimRow {
  id: string;
  queue: string;
  attempts: number;
  attempt_token: string;
  spec: unknown;
  priority: number;
  run_at: number;
  max_attempts: number;
  lease_expires_at: number;
}

export function toClaimedJob(row: PgClaimRow, withRunAt: boolean): ClaimedJob {
  return {
    id: row.id,
    queue: row.queue,
    attempt: row.attempts,
    token: row.attempt_token,
    spec: row.spec,
    priority: row.priority,
    maxAttempts: row.max_attempts,
    leaseExpiresAt: row.lease_expires_at,
    ...(withRunAt ? { runAt: row.run_at } : {}),
  };
}

/** `ms` milliseconds as an interval, for `now() + :ms * MS`. */
export const MS = "interval '1 millisecond'";

/**
 * `status = 'running'` for statements that find their rows by id (a batch of results,
 * heartbeats, releases), written so that no index matches it: as a plain comparison the
 * planner may read every running job through jobs_running, a partial index that keeps
 * the entries of rows long since finished until VACUUM (bitmap scans never mark them
 * dead), so each batch read more the longer the node ran (17,000 entries for 256 rows
 * after 20,000 jobs). By id through jobs_pkey a batch costs its own rows.
 */
export const RUNNING_BY_ID = "j.status || '' = 'running'";
