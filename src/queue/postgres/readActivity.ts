import type { ActivityBucket } from '../types.js';
import { query, type PgExecutor } from './db.js';

const DB_NOW = 'SELECT (extract(epoch FROM now()) * 1000)::bigint AS now';

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)`;

// The same three event kinds as the SQLite read; the window starts at :from (ms).
const EVENTS = `
SELECT 'submitted' AS kind, floor((${ms('j.created_at')} - :from) / :step)::int AS b, count(*) AS n
  FROM jobs j WHERE j.created_at >= to_timestamp(:from / 1000.0) GROUP BY 2
UNION ALL
SELECT 'dequeued', floor((${ms('coalesce(j.started_at, j.finished_at)')} - :from) / :step)::int, count(*)
  FROM jobs j
  WHERE (j.status IN ('queued', 'running') OR j.finished_at >= to_timestamp(:from / 1000.0))
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
  const last = Math.floor(Number(now) / step) * step;
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
  const rows = await query<{ kind: string; b: number; n: number | string }>(db, EVENTS, {
    from,
    step,
  });
  for (const row of rows) {
    const bucket = buckets[row.b];
    const n = Number(row.n);
    if (!bucket) continue;
    if (row.kind === 'submitted' || row.kind === 'dequeued') bucket[row.kind] += n;
    else if (row.kind === 'succeeded' || row.kind === 'failed' || row.kind === 'cancelled')
      bucket[row.kind] += n;
  }
  const [queued] = await query<{ n: number | string }>(
    db,
    "SELECT count(*) AS n FROM jobs j WHERE j.status = 'queued'",
  );
  let depth = Number(queued?.n ?? 0);
  for (let i = count - 1; i >= 0; i--) {
    buckets[i]!.queued = Math.max(0, depth);
    depth -= buckets[i]!.submitted - buckets[i]!.dequeued;
  }
  return buckets;
}
