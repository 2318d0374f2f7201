import type { JobRecord, QueueSummary, WorkerRecord } from './types.js';

/**
 * Rows both queue backends give back with the same columns, and how each becomes the
 * record the rest of runbox sees, so the two backends differ only in SQL, clocks and
 * transactions.
 */
export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  contract_name: string;
  contract_version: string;
  contract_fingerprint: string;
  started_at: number;
  last_heartbeat_at: number;
  stopped_at: number | null;
  /** SQLite: 0 or 1; PostgreSQL: boolean. */
  lost: number | boolean;
}

/**
 * `alive` is judged by the caller, each backend by its own clock; `queues` is the
 * column as the backend reads it (SQLite: JSON text, PostgreSQL: json, parsed).
 */
export function workerFromRow(
  row: WorkerRow,
  alive: boolean,
  queues: Readonly<Record<string, number>>,
): WorkerRecord {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    version: row.version,
    contract: {
      name: row.contract_name,
      version: row.contract_version,
      fingerprint: row.contract_fingerprint,
    },
    startedAt: row.started_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    stoppedAt: row.stopped_at,
    lost: Boolean(row.lost),
    alive,
    queues,
  };
}

export interface QueueSummaryRow {
  name: string;
  queued: number;
  due: number;
  running: number;
  oldest_due: number | null;
  workers: number;
  slots: number;
}

export function queueSummaryFromRow(r: QueueSummaryRow): QueueSummary {
  return {
    name: r.name,
    queued: r.queued,
    due: r.due,
    running: r.running,
    oldestDueAt: r.oldest_due,
    workers: r.workers,
    slots: r.slots,
  };
}

/** What a submit decides of a job; the rest of a new job's record is the same everywhere. */
export type NewJob = Pick<
  JobRecord,
  | 'id'
  | 'queue'
  | 'spec'
  | 'priority'
  | 'maxAttempts'
  | 'retryOnExitCodes'
  | 'runAt'
  | 'idempotencyKey'
  | 'createdAt'
>;

/**
 * A job as it is right after its insert, built by the backend instead of read back:
 * parsing the spec JSON again for every submit was a tenth of the submit path's CPU.
 */
export function queuedJob(job: NewJob): JobRecord {
  return {
    ...job,
    status: 'queued',
    attempts: 0,
    releasedAttempts: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    updatedAt: job.createdAt,
    startedAt: null,
    finishedAt: null,
    result: null,
    errorType: null,
    errorMessage: null,
    contractVersion: null,
  };
}
