import { activityBuckets, activityWindowStart, type ActivityEvent } from '../activity.js';
import type { ActivityBucket } from '../types.js';
import { query, type PgExecutor } from './db.js';

const DB_NOW = 'SELECT (extract(epoch FROM now()) * 1000)::bigint AS now';

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)`;

// The same three event kinds as the SQLite read; the window starts at :from (ms).
// status = 'queued' OR status = 'running', not IN: each arm then proves a partial index's
// predicate (jobs_status_id leaves running jobs to jobs_running, PostgreSQL migration 4),
// so the read stays on indexes instead of scanning every finished job.
const EVENTS = `
SELECT 'submitted' AS kind, floor((${ms('j.created_at')} - :from) / :step)::int AS b, count(*) AS n
  FROM jobs j WHERE j.created_at >= to_timestamp(:from / 1000.0) GROUP BY 2
UNION ALL
SELECT 'dequeued', floor((${ms('coalesce(j.started_at, j.finished_at)')} - :from) / :step)::int, count(*)
  FROM jobs j
  WHERE (j.status = 'queued' OR j.status = 'running'
         OR j.finished_at >= to_timestamp(:from / 1000.0))
    AND coalesce(j.started_at, j.finished_at) >= to_timestamp(:from / 1000.0)
  GROUP BY 2
UNION ALL
SELECT j.status, floor((${ms('j.finished_at')} - :from) / :step)::int, count(*)
  FROM jobs j WHERE j.finished_at >= to_timestamp(:from / 1000.0) GROUP BY 1, 2`;

/**
 * The dashboard's last hour by minute, by the database's clock (see sqlite/readActivity.ts
 * for what each count means and why past depths are approximate).
 */
export async function readActivity(
  db: PgExecutor,
  args: { buckets?: number; bucketMs?: number } = {},
): Promise<ActivityBucket[]> {
  const step = args.bucketMs ?? 60_000;
  const count = args.buckets ?? 60;
  const [{ now }] = (await query<{ now: number }>(db, DB_NOW)) as [{ now: number }];
  const from = activityWindowStart(Number(now), step, count);
  const events = await query<ActivityEvent>(db, EVENTS, { from, step });
  const [queued] = await query<{ n: number | string }>(
    db,
    "SELECT count(*) AS n FROM jobs j WHERE j.status = 'queued'",
  );
  return activityBuckets({ from, step, count, events, queuedNow: Number(queued?.n ?? 0) });
}
