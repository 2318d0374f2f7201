import type { JobResult } from '../../contract/resultSchema.js';
import type { JobRecord, JobStatus } from '../types.js';

/** A jobs row as SQLite returns it (snake_case, JSON as text, booleans as 0/1). */
export interface JobRow {
  id: string;
  queue: string;
  spec: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  released_attempts: number;
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
  inputs_apart: number;
}

/** `spec`: the row's spec with its input files in place (jobInputs.specOf). */
export function rowToJob(row: JobRow, spec: unknown): JobRecord {
  return {
    id: row.id,
    status: row.status,
    queue: row.queue,
    spec,
    priority: row.priority,
    attempts: row.attempts,
    releasedAttempts: row.released_attempts,
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
