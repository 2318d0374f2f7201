import { enqueueJobs } from '../../queue/sqlite/enqueueJobs.js';
import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import type { FireArgs, FireOutcome } from '../ScheduleStore.js';

// The claim: only the process that still reads the old next_fire_at moves it. Under
// BEGIN IMMEDIATE the second process runs after the first commits and changes 0 rows.
const CLAIM = `
UPDATE schedules
SET next_fire_at = :next, last_fired_at = coalesce(:firedAt, last_fired_at),
    last_error = :error, updated_at = :now
WHERE name = :name AND next_fire_at = :expected AND paused = 0`;

const SET_JOB = 'UPDATE schedules SET last_job_id = :jobId WHERE name = :name';

/** The claim and the enqueue commit together, or neither does. */
export function fireSchedule(db: Db, args: FireArgs): FireOutcome {
  return immediate(db, () => {
    const { changes } = sql(db, CLAIM).run({
      name: args.name,
      expected: args.expected,
      next: args.next,
      firedAt: args.item ? args.firedAt : null,
      error: args.error,
      now: args.now,
    });
    if (changes === 0) return { claimed: false, jobId: null, created: false };
    if (!args.item) return { claimed: true, jobId: null, created: false };
    const [outcome] = enqueueJobs(db, [args.item], args.now);
    sql(db, SET_JOB).run({ name: args.name, jobId: outcome!.job.id });
    return { claimed: true, jobId: outcome!.job.id, created: outcome!.created };
  });
}
