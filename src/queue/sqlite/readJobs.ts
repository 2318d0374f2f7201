import { RunboxError } from '../../errors/index.js';
import { sql, type Db } from './db.js';
import {
  JOB_STATUSES,
  type JobPage,
  type JobRecord,
  type JobStatus,
  type ListJobsArgs,
  type OutcomeCount,
  type RunningJob,
} from '../types.js';
import { listedSpec } from '../listedFiles.js';
import { specOf } from './jobInputs.js';
import { rowToJob, type JobRow } from './rows.js';

export type { JobPage, ListJobsArgs, OutcomeCount, RunningJob };

export function getJob(db: Db, id: string): JobRecord | null {
  const row = sql(db, 'SELECT * FROM jobs WHERE id = :id').get({ id }) as JobRow | undefined;
  return row ? rowToJob(row, specOf(db, row)) : null;
}

export function getJobStatus(db: Db, id: string): JobStatus | null {
  const row = sql(db, 'SELECT status FROM jobs WHERE id = :id').get({ id }) as
    { status: JobStatus } | undefined;
  return row?.status ?? null;
}

/**
 * Newest first. The cursor is the last id of the page (ids sort by creation time), so
 * pages stay stable while new jobs arrive.
 */
export function listJobs(db: Db, args: ListJobsArgs = {}): JobPage {
  const limit = Math.min(Math.max(Math.trunc(args.limit ?? 50), 1), 1000);
  if (args.status !== undefined && !JOB_STATUSES.includes(args.status)) {
    throw new RunboxError(
      'InvalidSpec',
      `status: "${String(args.status)}" must be one of ${JOB_STATUSES.join(', ')}`,
      { field: 'status' },
    );
  }
  const params = { status: args.status ?? null, cursor: args.cursor ?? null, limit: limit + 1 };
  const text =
    args.status === undefined
      ? 'SELECT * FROM jobs WHERE (:cursor IS NULL OR id < :cursor) ORDER BY id DESC LIMIT :limit'
      : 'SELECT * FROM jobs WHERE status = :status AND (:cursor IS NULL OR id < :cursor) ORDER BY id DESC LIMIT :limit';
  const rows = sql(db, text).all(params) as JobRow[];
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    // A row kept apart (011) lists its files already; an older one is listed here.
    jobs: page.map((row) => rowToJob(row, listedSpec(JSON.parse(row.spec)))),
    nextCursor: more ? page[page.length - 1]!.id : null,
  };
}

/** Queue depth by status, every status present (0 when none). */
export function countByStatus(db: Db): Record<JobStatus, number> {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  const rows = sql(db, 'SELECT status, count(*) AS n FROM jobs GROUP BY status').all() as Array<{
    status: JobStatus;
    n: number;
  }>;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Finished jobs still in the database by outcome, for /metrics. Retention deletes old
 * rows, so these can go down: expose them as gauges, or keep a process-local counter.
 */
export function finishedByOutcome(db: Db): OutcomeCount[] {
  return (
    sql(
      db,
      `SELECT status, error_type, count(*) AS n FROM jobs
       WHERE status IN ('succeeded', 'failed', 'cancelled')
       GROUP BY status, error_type ORDER BY status, error_type`,
    ).all() as Array<{ status: OutcomeCount['status']; error_type: string | null; n: number }>
  ).map((r) => ({ status: r.status, errorType: r.error_type, count: r.n }));
}

/** Jobs marked running, for startup recovery (which containers still belong to a job). */
export function runningJobs(db: Db): RunningJob[] {
  return (
    sql(
      db,
      "SELECT id, attempts, lease_owner, lease_expires_at FROM jobs WHERE status = 'running' ORDER BY id",
    ).all() as Array<{
      id: string;
      attempts: number;
      lease_owner: string | null;
      lease_expires_at: number | null;
    }>
  ).map((r) => ({
    id: r.id,
    attempt: r.attempts,
    owner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
  }));
}
