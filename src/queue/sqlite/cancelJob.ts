import { RunboxError } from '../../errors/index.js';
import { immediate, sql, type Db } from './db.js';
import type { CancelOutcome } from '../types.js';
import { specOf } from './jobInputs.js';
import { rowToJob, type JobRow } from './rows.js';

export type { CancelOutcome };

const CANCEL_QUEUED = `
UPDATE jobs
SET status = 'cancelled', finished_at = :now, updated_at = :now, final_work = final_work,
    error_type = 'Cancelled',
    -- A job waiting for its retry (or put back by a drain) has run: 'before it ran' was
    -- untrue for it.
    error_message = CASE WHEN attempts = 0 THEN 'cancelled before it ran'
      ELSE 'cancelled while queued to run again, after ' || attempts || ' attempt(s)' END
WHERE id = :id AND status = 'queued'`;

const REQUEST_CANCEL = `
UPDATE jobs SET cancel_requested = 1, updated_at = :now
WHERE id = :id AND status = 'running'`;

/** Throws NotFound for an unknown id. */
export function cancelJob(db: Db, id: string, now: number): CancelOutcome {
  return immediate(db, () => {
    const before = sql(db, 'SELECT * FROM jobs WHERE id = :id').get({ id }) as JobRow | undefined;
    if (!before) throw new RunboxError('NotFound', `no job with id ${id}`, { field: 'id' });
    let outcome: CancelOutcome['outcome'] = 'already-final';
    if (before.status === 'queued') {
      sql(db, CANCEL_QUEUED).run({ id, now });
      outcome = 'cancelled';
    } else if (before.status === 'running') {
      sql(db, REQUEST_CANCEL).run({ id, now });
      outcome = 'requested';
    }
    const after = sql(db, 'SELECT * FROM jobs WHERE id = :id').get({ id }) as JobRow;
    return { job: rowToJob(after, specOf(db, after)), outcome };
  });
}
