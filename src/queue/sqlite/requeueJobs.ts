import { toClaimedJob, type ClaimRow } from './claimJobs.js';
import { immediate, sql, type Db } from './db.js';
import { decideForLost, type RetrySettings } from '../retryPolicy.js';
import type { ClaimedJob, ReapOutcome } from '../types.js';

export type { ReapOutcome };

interface LostRow {
  id: string;
  attempts: number;
  released_attempts: number;
  max_attempts: number;
  cancel_requested: number;
  lease_owner: string | null;
}

const EXPIRED = `
SELECT id, attempts, released_attempts, max_attempts, cancel_requested, lease_owner FROM jobs INDEXED BY jobs_status_id
WHERE status = 'running' AND lease_expires_at < :now`;

const OWNED = `
SELECT id, attempts, released_attempts, max_attempts, cancel_requested, lease_owner FROM jobs
WHERE status = 'running' AND lease_owner = :workerId`;

const REQUEUE = `
UPDATE jobs
SET status = 'queued', run_at = :runAt, lease_owner = NULL, lease_expires_at = NULL,
    attempt_token = NULL, error_type = :errorType, error_message = :errorMessage, updated_at = :now
WHERE id = :id`;

const END = `
UPDATE jobs
SET status = :status, finished_at = :now, lease_owner = NULL, lease_expires_at = NULL,
    attempt_token = NULL, error_type = :errorType, error_message = :errorMessage, updated_at = :now,
    final_work = final_work
WHERE id = :id`;

function loseJobs(
  db: Db,
  rows: LostRow[],
  why: string,
  now: number,
  retry: RetrySettings,
  random: () => number,
): ReapOutcome {
  const outcome: ReapOutcome = { requeued: [], failed: [], cancelled: [] };
  for (const row of rows) {
    const { decision, errorType, errorMessage } = decideForLost(
      {
        attempts: row.attempts,
        releasedAttempts: row.released_attempts,
        maxAttempts: row.max_attempts,
        cancelRequested: row.cancel_requested !== 0,
        leaseOwner: row.lease_owner,
      },
      why,
      retry,
      random,
    );
    if (decision.kind === 'retry') {
      sql(db, REQUEUE).run({
        id: row.id,
        now,
        runAt: now + decision.delayMs,
        errorType,
        errorMessage,
      });
      outcome.requeued.push(row.id);
    } else {
      const status = decision.kind === 'cancelled' ? 'cancelled' : 'failed';
      sql(db, END).run({ id: row.id, now, status, errorType, errorMessage });
      outcome[status].push(row.id);
    }
  }
  return outcome;
}

/**
 * The reaper: running jobs whose lease expired were lost with their worker. Judged by
 * lease expiry alone, never by creation time (a long queue wait is not a lost job).
 * A later heartbeat or result from the old worker is stale: its token was cleared.
 * `keep`: jobs the calling process itself still holds and heartbeats (its lease lapsed
 * while its writes failed, e.g. a full disk): it is alive, so its next heartbeat
 * decides, and reaping them would run a finished job again.
 */
export function requeueExpired(
  db: Db,
  now: number,
  retry: RetrySettings,
  random: () => number = Math.random,
  keep: ReadonlySet<string> = new Set(),
): ReapOutcome {
  return immediate(db, () => {
    const rows = (sql(db, EXPIRED).all({ now }) as LostRow[]).filter((r) => !keep.has(r.id));
    return loseJobs(db, rows, 'lease expired', now, retry, random);
  });
}

// Released jobs go back to queued, except one whose cancel was requested: it ends
// cancelled here, or it would run again only to be killed at its first heartbeat. The
// attempt given back does not count against max_attempts (retryPolicy.counted).
const RELEASE_SET = `
SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
    released_attempts = released_attempts + CASE WHEN cancel_requested THEN 0 ELSE 1 END,
    finished_at = CASE WHEN cancel_requested THEN :now ELSE NULL END,
    error_type = CASE WHEN cancel_requested THEN 'Cancelled' ELSE NULL END,
    error_message = :reason,
    run_at = :now, lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL,
    updated_at = :now, final_work = final_work`;

const RELEASE_OWNED = `
UPDATE jobs ${RELEASE_SET}
WHERE status = 'running' AND lease_owner = :workerId
RETURNING id, status`;

/**
 * Every job a worker holds goes back, without waiting for lease expiry.
 * - 'drain': the worker stopped them on purpose (drain timeout): queued again at once,
 *   no backoff, not a failure (like releaseJobs, without tokens).
 * - 'lost': the worker is known dead (process gone, heartbeat stale): the reaper's
 *   outcomes (WorkerLost with backoff, failed when attempts are spent).
 */
export function requeueOwnedBy(
  db: Db,
  workerId: string,
  mode: 'drain' | 'lost',
  now: number,
  retry: RetrySettings,
  random: () => number = Math.random,
): ReapOutcome {
  return immediate(db, () => {
    if (mode === 'drain') {
      const rows = sql(db, RELEASE_OWNED).all({
        workerId,
        now,
        reason: `released: worker ${workerId} drained`,
      }) as Array<{ id: string; status: string }>;
      return {
        requeued: rows.filter((r) => r.status === 'queued').map((r) => r.id),
        failed: [],
        cancelled: rows.filter((r) => r.status === 'cancelled').map((r) => r.id),
      };
    }
    const rows = sql(db, OWNED).all({ workerId }) as LostRow[];
    return loseJobs(db, rows, 'worker is gone', now, retry, random);
  });
}

const RELEASE = `
UPDATE jobs ${RELEASE_SET}
WHERE id = :id AND attempt_token = :token AND status = 'running'
RETURNING id`;

/**
 * A worker gives jobs back unfinished (drain timeout, a re-attach it cannot do): queued
 * again at once, no backoff, not a failure. The attempt keeps its number (attempt numbers
 * label containers and must never be reused) but no longer counts against max_attempts. A job with a cancel request ends cancelled
 * instead. Returns the ids released; a stale token releases nothing.
 */
export function releaseJobs(
  db: Db,
  jobs: ReadonlyArray<{ id: string; token: string }>,
  reason: string,
  now: number,
): string[] {
  return immediate(db, () =>
    jobs
      .filter((job) => sql(db, RELEASE).get({ id: job.id, token: job.token, now, reason }))
      .map((job) => job.id),
  );
}

const ADOPT = `
UPDATE jobs
SET lease_owner = :workerId, lease_expires_at = :now + :leaseMs,
    attempt_token = lower(hex(randomblob(16))), updated_at = :now
WHERE id = :jobId AND attempts = :attempt AND status = 'running'
  AND (lease_owner IS NULL OR lease_owner = :workerId OR lease_owner NOT IN (
    SELECT id FROM workers WHERE stopped_at IS NULL AND last_heartbeat_at >= :now - :deadMs))
RETURNING id, queue, attempts, attempt_token, spec, inputs_apart, priority, max_attempts, lease_expires_at`;

export interface AdoptArgs {
  jobId: string;
  /** The attempt the found container belongs to; another attempt is not adopted. */
  attempt: number;
  workerId: string;
  leaseMs: number;
  now: number;
  /** A worker without a heartbeat this long is dead. */
  deadMs: number;
}

/**
 * Startup recovery: takes over a running job whose container outlived its worker, with
 * a fresh token, so the new worker can re-attach and record the result. Null when the
 * job moved on (other attempt, not running) or its owner is still alive.
 */
export function adoptJob(db: Db, args: AdoptArgs): ClaimedJob | null {
  const row = immediate(db, () => sql(db, ADOPT).get(args)) as Omit<ClaimRow, 'run_at'> | undefined;
  return row ? toClaimedJob(db, row) : null;
}
