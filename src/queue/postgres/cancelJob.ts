import { RunboxError } from '../../errors/index.js';
import type { CancelOutcome } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { notifyFinished } from './finishJobs.js';
import { JOB_COLUMNS, rowToJob, type PgJobRow } from './rows.js';

/** The channel a cancel request for a running job is announced on; the payload is its id. */
export const CANCEL_CHANNEL = 'runbox_cancel';

const LOCK = `SELECT j.status FROM jobs j WHERE j.id = :id FOR UPDATE`;

const CANCEL_QUEUED = `
UPDATE jobs j
SET status = 'cancelled', finished_at = now(), updated_at = now(),
    error_type = 'Cancelled',
    -- A job waiting for its retry (or put back by a drain) has run: 'before it ran' was
    -- untrue for it.
    error_message = CASE WHEN j.attempts = 0 THEN 'cancelled before it ran'
      ELSE 'cancelled while queued to run again, after ' || j.attempts || ' attempt(s)' END
WHERE j.id = :id AND j.status = 'queued'`;

const REQUEST_CANCEL = `
UPDATE jobs j SET cancel_requested = true, updated_at = now()
WHERE j.id = :id AND j.status = 'running'
RETURNING ${JOB_COLUMNS}`;

const READ = `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = :id`;

/**
 * In the caller's transaction. Queued: cancelled at once. Running: cancel requested, and
 * announced so the node running it kills the container now instead of at its next
 * heartbeat. Final: unchanged. Throws NotFound for an unknown id.
 */
export async function cancelJob(db: PgExecutor, id: string): Promise<CancelOutcome> {
  const [locked] = await query<{ status: string }>(db, LOCK, { id });
  if (!locked) throw new RunboxError('NotFound', `no job with id ${id}`, { field: 'id' });
  if (locked.status === 'queued') {
    await query(db, CANCEL_QUEUED, { id });
    await notifyFinished(db, [id]);
    // Read after the statement: its secret values were scrubbed by an AFTER trigger at
    // its end (PostgreSQL migration 4), which its RETURNING would not show.
    const [row] = await query<PgJobRow>(db, READ, { id });
    return { job: rowToJob(row!), outcome: 'cancelled' };
  }
  if (locked.status === 'running') {
    const [row] = await query<PgJobRow>(db, REQUEST_CANCEL, { id });
    await query(db, 'SELECT pg_notify(:channel, :id)', { channel: CANCEL_CHANNEL, id });
    return { job: rowToJob(row!), outcome: 'requested' };
  }
  const [row] = await query<PgJobRow>(db, READ, { id });
  return { job: rowToJob(row!), outcome: 'already-final' };
}
