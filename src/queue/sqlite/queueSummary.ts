import { sql, type Db } from './db.js';
import type { QueueSummary } from '../types.js';
import { queueSummaryFromRow, type QueueSummaryRow } from '../rows.js';

// As PostgreSQL's (postgres/queueSummary.ts): reserved jobs (runbox run's) belong to one
// process, not to a queue anyone serves. The names are collected first and both sides
// LEFT JOINed: FULL JOIN needs SQLite 3.39 or later.
const SUMMARY = `
WITH depth AS (
  SELECT queue,
         sum(status = 'queued') AS queued,
         sum(status = 'queued' AND run_at <= :now) AS due,
         sum(status = 'running') AS running,
         min(CASE WHEN status = 'queued' AND run_at <= :now THEN run_at END) AS oldest_due
  FROM jobs
  WHERE status IN ('queued', 'running') AND reserved_for IS NULL
  GROUP BY queue
), serving AS (
  SELECT q.key AS queue, count(*) AS workers, sum(q.value) AS slots
  FROM workers w, json_each(w.queues) q
  WHERE w.stopped_at IS NULL AND :now - w.last_heartbeat_at < :deadMs
  GROUP BY q.key
), names AS (
  SELECT queue FROM depth UNION SELECT queue FROM serving
)
SELECT n.queue AS name, coalesce(d.queued, 0) AS queued, coalesce(d.due, 0) AS due,
       coalesce(d.running, 0) AS running,
       d.oldest_due, coalesce(s.workers, 0) AS workers, coalesce(s.slots, 0) AS slots
FROM names n LEFT JOIN depth d ON d.queue = n.queue LEFT JOIN serving s ON s.queue = n.queue
ORDER BY n.queue`;

/** Every queue that has jobs waiting or running, or a live worker serving it. */
export function queueSummary(db: Db, now: number, deadMs: number): QueueSummary[] {
  const rows = sql(db, SUMMARY).all({ now, deadMs }) as Array<QueueSummaryRow>;
  return rows.map(queueSummaryFromRow);
}
