/**
 * Migration 12: a worker whose process was found gone is told apart from one that stopped.
 *
 * Startup recovery ends the row of a local worker whose pid is gone (kill -9, a crash) so
 * its containers are adopted at once; it did that by marking it stopped, and the worker
 * then read "stopped" in `runbox workers`, GET /v1/workers and runbox_workers, so an
 * alert on runbox_workers{state="dead"} never fired for it. `lost` = 1 keeps it dead
 * until retention deletes its row; stopped_at still ends its claims and heartbeats.
 * Rows from before this migration cannot be told apart and stay stopped.
 */
export default /* sql */ `
ALTER TABLE workers ADD COLUMN lost INTEGER NOT NULL DEFAULT 0 CHECK (lost IN (0, 1));
`;
