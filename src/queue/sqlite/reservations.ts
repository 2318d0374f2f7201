import { immediate, sql, type Db } from './db.js';

// A worker counts as alive here exactly as adoptJob and listWorkers judge it.
const FAIL_ORPHANED = `
UPDATE jobs INDEXED BY jobs_reserved
SET status = 'failed', finished_at = :now, error_type = 'WorkerLost', updated_at = :now,
    final_work = final_work,
    error_message = 'the runbox run process this job was reserved for (worker ' || reserved_for ||
      ') is gone; a run job is executed only by its own process, so run it again'
WHERE status = 'queued' AND reserved_for IS NOT NULL
  AND reserved_for NOT IN (
    SELECT id FROM workers WHERE stopped_at IS NULL AND last_heartbeat_at >= :now - :deadMs)
RETURNING id`;

/**
 * A job reserved for a `runbox run` process is claimed by nothing else, so once that
 * process is gone (kill -9, a crash, a lost lease it never came back for) the job would
 * stay queued forever. It fails instead, as WorkerLost: running it anywhere else would
 * show its output to nobody. Returns the ids failed.
 *
 * A reservation is made only after its worker has registered (see WorkerPool.start),
 * so a worker row that is missing or dead here means the process is really gone.
 */
export function failOrphanedReservations(db: Db, now: number, deadMs: number): string[] {
  return immediate(db, () =>
    (sql(db, FAIL_ORPHANED).all({ now, deadMs }) as Array<{ id: string }>).map((r) => r.id),
  );
}
