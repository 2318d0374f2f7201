import { sql, type Db } from './db.js';
import { activityBuckets, activityWindowStart, type ActivityEvent } from '../activity.js';
import { encodeTime } from '../ids.js';
import type { ActivityBucket } from '../types.js';

export interface ActivityArgs {
  now: number;
  /** @defaultValue 60 */
  buckets?: number;
  /** @defaultValue 60000 */
  bucketMs?: number;
}

// Parameters arrive as REAL (JavaScript numbers): the bucket index is cast to INTEGER.
const EVENTS = /* sql */ `
SELECT 'submitted' AS kind, CAST((created_at - :from) / :step AS INTEGER) AS b, count(*) AS n
  FROM jobs WHERE id >= :fromId AND created_at >= :from GROUP BY b
UNION ALL
SELECT 'dequeued', CAST((coalesce(started_at, finished_at) - :from) / :step AS INTEGER), count(*)
  FROM jobs
  WHERE (status IN ('queued', 'running') OR finished_at >= :from)
    AND coalesce(started_at, finished_at) >= :from
  GROUP BY 2
UNION ALL
SELECT status, CAST((finished_at - :from) / :step AS INTEGER), count(*)
  FROM jobs WHERE finished_at >= :from GROUP BY 1, 2`;

/**
 * What the queue did over the last buckets × bucketMs, for the dashboard's chart: per
 * bucket, jobs submitted, dequeued and finished by outcome, and the queue depth at its
 * end. Reads only recent rows: new ids by the primary key (an id's time part is never
 * before its created_at, so `id >= encodeTime(from)` loses no recent job), finished
 * ones by jobs_finished, unfinished ones by jobs_status_id; never the whole table.
 *
 * The depth is walked back from today's exact count by the events in between. A job
 * requeued after a lost lease keeps the start time of its last attempt only, so past
 * depths are approximate while retries happen; the current one is exact.
 */
export function readActivity(db: Db, args: ActivityArgs): ActivityBucket[] {
  const step = args.bucketMs ?? 60_000;
  const count = args.buckets ?? 60;
  const from = activityWindowStart(args.now, step, count);
  const events = sql(db, EVENTS).all({ from, step, fromId: encodeTime(from) }) as ActivityEvent[];
  const queuedNow = (
    sql(db, "SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as { n: number }
  ).n;
  return activityBuckets({ from, step, count, events, queuedNow });
}
