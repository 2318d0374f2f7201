import { RunboxError } from '../../errors/index.js';
import type { JobPage, ListJobsArgs, OutcomeCount, RunningJob } from '../types.js';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../types.js';
import { listedSpec } from '../listedFiles.js';
import { query, type PgExecutor } from './db.js';
import { JOB_COLUMNS, rowToJob, type PgJobRow } from './rows.js';

export async function getJob(db: PgExecutor, id: string): Promise<JobRecord | null> {
  const [row] = await query<PgJobRow>(db, `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = :id`, {
    id,
  });
  return row ? rowToJob(row) : null;
}

export async function getJobStatus(db: PgExecutor, id: string): Promise<JobStatus | null> {
  const [row] = await query<{ status: JobStatus }>(
    db,
    'SELECT j.status FROM jobs j WHERE j.id = :id',
    { id },
  );
  return row?.status ?? null;
}

const LIST_ALL = `
SELECT ${JOB_COLUMNS} FROM jobs j
WHERE (:cursor::text IS NULL OR j.id < :cursor::text)
ORDER BY j.id DESC LIMIT :limit`;

const LIST_STATUS = `
SELECT ${JOB_COLUMNS} FROM jobs j
WHERE j.status = :status AND (:cursor::text IS NULL OR j.id < :cursor::text)
ORDER BY j.id DESC LIMIT :limit`;

/** Newest first; the cursor is the last id of the page (ids sort by creation time). */
export async function listJobs(db: PgExecutor, args: ListJobsArgs = {}): Promise<JobPage> {
  const limit = Math.min(Math.max(Math.trunc(args.limit ?? 50), 1), 1000);
  if (args.status !== undefined && !JOB_STATUSES.includes(args.status)) {
    throw new RunboxError(
      'InvalidSpec',
      `status: "${String(args.status)}" must be one of ${JOB_STATUSES.join(', ')}`,
      { field: 'status' },
    );
  }
  const params = { cursor: args.cursor ?? null, limit: limit + 1 };
  const rows =
    args.status === undefined
      ? await query<PgJobRow>(db, LIST_ALL, params)
      : await query<PgJobRow>(db, LIST_STATUS, { ...params, status: args.status });
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    // The spec is read whole here (json has no cheap way to drop a key); the page sent on
    // is listed (SQLite's rows list their files already).
    jobs: page.map((row) => ({ ...rowToJob(row), spec: listedSpec(row.spec) })),
    nextCursor: more ? page[page.length - 1]!.id : null,
  };
}

export async function countByStatus(db: PgExecutor): Promise<Record<JobStatus, number>> {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  const rows = await query<{ status: JobStatus; n: number }>(
    db,
    'SELECT j.status, count(*) AS n FROM jobs j GROUP BY j.status',
  );
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export async function finishedByOutcome(db: PgExecutor): Promise<OutcomeCount[]> {
  const rows = await query<{
    status: OutcomeCount['status'];
    error_type: string | null;
    n: number;
  }>(
    db,
    `SELECT j.status, j.error_type, count(*) AS n FROM jobs j
     WHERE j.status IN ('succeeded', 'failed', 'cancelled')
     GROUP BY j.status, j.error_type ORDER BY j.status, j.error_type`,
  );
  return rows.map((r) => ({ status: r.status, errorType: r.error_type, count: r.n }));
}

export async function runningJobs(db: PgExecutor): Promise<RunningJob[]> {
  const rows = await query<{
    id: string;
    attempts: number;
    lease_owner: string | null;
    lease_expires_at: number | null;
  }>(
    db,
    `SELECT j.id, j.attempts, j.lease_owner, j.lease_expires_at FROM jobs j
     WHERE j.status = 'running' ORDER BY j.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    attempt: r.attempts,
    owner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
  }));
}
