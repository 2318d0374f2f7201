import { sql, type Db } from './db.js';
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
  const last = Math.floor(args.now / step) * step;
  const from = last - (count - 1) * step;
  const buckets: ActivityBucket[] = Array.from({ length: count }, (_, i) => ({
    start: from + i * step,
    submitted: 0,
    dequeued: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    queued: 0,
  }));
  const rows = sql(db, EVENTS).all({ from, step, fromId: encodeTime(from) }) as Array<{
    kind: string;
    b: number;
    n: number;
  }>;
  for (const row of rows) {
    const bucket = buckets[row.b];
    if (!bucket) continue; // a clock step put a time past now
    if (row.kind === 'submitted' || row.kind === 'dequeued') bucket[row.kind] += row.n;
    else if (row.kind === 'succeeded' || row.kind === 'failed' || row.kind === 'cancelled')
      bucket[row.kind] += row.n;
  }
  const queuedNow = (
    sql(db, "SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as { n: number }
  ).n;
  let depth = queuedNow;
  for (let i = count - 1; i >= 0; i--) {
    buckets[i]!.queued = Math.max(0, depth);
    depth -= buckets[i]!.submitted - buckets[i]!.dequeued;
  }
  return buckets;
}
