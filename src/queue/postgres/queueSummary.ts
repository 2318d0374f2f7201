import { query, type PgExecutor } from './db.js';
import { MS } from './rows.js';
import type { QueueSummary } from '../types.js';
import { queueSummaryFromRow, type QueueSummaryRow } from '../rows.js';

export type { QueueSummary };

// Reserved jobs (runbox run's) belong to one process, not to a queue anyone serves.
// Two arms, not IN: each proves a partial index's predicate (see readActivity.ts).
const SUMMARY = `
WITH depth AS (
  SELECT j.queue,
         count(*) FILTER (WHERE j.status = 'queued') AS queued,
         count(*) FILTER (WHERE j.status = 'queued' AND j.run_at <= now()) AS due,
         count(*) FILTER (WHERE j.status = 'running') AS running,
         min(j.run_at) FILTER (WHERE j.status = 'queued' AND j.run_at <= now()) AS oldest_due
  FROM jobs j
  WHERE (j.status = 'queued' OR j.status = 'running') AND j.reserved_for IS NULL
  GROUP BY j.queue
), serving AS (
  SELECT q.key AS queue, count(*) AS workers, sum((q.value #>> '{}')::integer) AS slots
  FROM workers w CROSS JOIN LATERAL json_each(w.queues) q
  WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - :deadMs * ${MS}
  GROUP BY q.key
)
SELECT coalesce(d.queue, s.queue) AS name, coalesce(d.queued, 0) AS queued,
       coalesce(d.due, 0) AS due,
       coalesce(d.running, 0) AS running, d.oldest_due, coalesce(s.workers, 0) AS workers,
       coalesce(s.slots, 0) AS slots
FROM depth d FULL JOIN serving s ON d.queue = s.queue
ORDER BY 1`;

/** Every queue that has jobs waiting or running, or a live worker serving it. */
export async function queueSummary(db: PgExecutor, deadMs: number): Promise<QueueSummary[]> {
  const rows = await query<QueueSummaryRow>(db, SUMMARY, { deadMs });
  return rows.map(queueSummaryFromRow);
}
