/**
 * Migration 6: named queues. A job waits in one queue (default 'default', so every job
 * already stored stays claimable by a node serving the default queue); a node claims
 * only from the queues it serves, each up to its own slots.
 *
 * workers.queues: the queues a worker serves, JSON {name: slots}, for GET /v1/queues.
 *
 * jobs_claim leads with queue: a claim walks one queue's due jobs in priority order and
 * stops at that queue's limit, never reading another queue's rows.
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';

DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id)
  WHERE status = 'queued' AND reserved_for IS NULL;

ALTER TABLE workers ADD COLUMN queues TEXT NOT NULL DEFAULT '{}';
`;
