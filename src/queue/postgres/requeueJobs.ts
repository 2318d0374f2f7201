import type { HeldRef } from '../types.js';
import type { ReapOutcome } from '../types.js';
import { decideForLost, type RetrySettings } from '../retryPolicy.js';
import type { ClaimedJob } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { notifyFinished } from './finishJobs.js';
import { CLAIMED_COLUMNS, MS, RUNNING_BY_ID, toClaimedJob, type PgClaimRow } from './rows.js';

interface LostRow {
  id: string;
  attempts: number;
  released_attempts: number;
  max_attempts: number;
  cancel_requested: boolean;
  lease_owner: string | null;
}

// SKIP LOCKED: a job whose result is being recorded right now is not lost; its finish
// commits first and the row is no longer running when the next reap looks.
const EXPIRED = `
SELECT j.id, j.attempts, j.released_attempts, j.max_attempts, j.cancel_requested, j.lease_owner FROM jobs j
WHERE j.status = 'running' AND j.lease_expires_at < now() AND NOT (j.id = ANY(:keep::text[]))
ORDER BY j.id
FOR UPDATE SKIP LOCKED`;

const OWNED = `
SELECT j.id, j.attempts, j.released_attempts, j.max_attempts, j.cancel_requested, j.lease_owner FROM jobs j
WHERE j.status = 'running' AND j.lease_owner = :workerId
ORDER BY j.id
FOR UPDATE`;

// One statement for every lost job: queued again after its backoff, or ended.
const LOSE = `
UPDATE jobs j
SET status = l.status,
    run_at = CASE WHEN l.status = 'queued' THEN now() + l.delay_ms * ${MS} ELSE j.run_at END,
    finished_at = CASE WHEN l.status = 'queued' THEN NULL ELSE now() END,
    lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL,
    error_type = l.error_type, error_message = l.error_message, updated_at = now()
FROM unnest(:ids::text[], :statuses::text[], :delays::bigint[], :errorTypes::text[],
            :errorMessages::text[]) AS l(id, status, delay_ms, error_type, error_message)
WHERE j.id = l.id AND ${RUNNING_BY_ID}`;

async function loseJobs(
  db: PgExecutor,
  rows: readonly LostRow[],
  why: string,
  retry: RetrySettings,
  random: () => number,
): Promise<ReapOutcome> {
  const outcome: ReapOutcome = { requeued: [], failed: [], cancelled: [] };
  if (rows.length === 0) return outcome;
  const writes = rows.map((row) => {
    const { decision, errorType, errorMessage } = decideForLost(
      {
        attempts: row.attempts,
        releasedAttempts: row.released_attempts,
        maxAttempts: row.max_attempts,
        cancelRequested: row.cancel_requested,
        leaseOwner: row.lease_owner,
      },
      why,
      retry,
      random,
    );
    const status = decision.kind === 'retry' ? 'queued' : decision.kind;
    if (status === 'queued') outcome.requeued.push(row.id);
    else if (status === 'cancelled') outcome.cancelled.push(row.id);
    else outcome.failed.push(row.id);
    const delay = decision.kind === 'retry' ? decision.delayMs : 0;
    return { id: row.id, status, delay, type: errorType, message: errorMessage };
  });
  await query(db, LOSE, {
    ids: writes.map((w) => w.id),
    statuses: writes.map((w) => w.status),
    delays: writes.map((w) => w.delay),
    errorTypes: writes.map((w) => w.type),
    errorMessages: writes.map((w) => w.message),
  });
  const ended = [...outcome.failed, ...outcome.cancelled];
  if (ended.length > 0) await notifyFinished(db, ended);
  return outcome;
}

/**
 * The reaper: running jobs whose lease expired (by the database's clock) were lost with
 * their worker, whichever node it ran on. `keep`: jobs the calling process itself still
 * holds and heartbeats (see the SQLite requeueExpired). The caller holds the reaper's
 * advisory lock, so one node reaps at a time.
 */
export async function requeueExpired(
  db: PgExecutor,
  retry: RetrySettings,
  random: () => number,
  keep: ReadonlySet<string>,
): Promise<ReapOutcome> {
  const rows = await query<LostRow>(db, EXPIRED, { keep: [...keep] });
  return loseJobs(db, rows, 'lease expired', retry, random);
}

// Released jobs go back to queued, except one whose cancel was requested: it ends
// cancelled here, or it would run again only to be killed at its first heartbeat. The
// attempt given back does not count against max_attempts (retryPolicy.counted).
// (SET expressions read the row as it was, so cancel_requested is the old value.)
const RELEASE_SET = `
SET status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'queued' END,
    released_attempts = j.released_attempts + CASE WHEN j.cancel_requested THEN 0 ELSE 1 END,
    finished_at = CASE WHEN j.cancel_requested THEN now() ELSE NULL END,
    error_type = CASE WHEN j.cancel_requested THEN 'Cancelled' ELSE NULL END,
    error_message = :reason,
    run_at = now(), lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL,
    updated_at = now()`;

const RELEASE_OWNED = `
UPDATE jobs j ${RELEASE_SET}
WHERE j.status = 'running' AND j.lease_owner = :workerId
RETURNING j.id, j.status`;

const RELEASE = `
UPDATE jobs j ${RELEASE_SET}
FROM unnest(:ids::text[], :tokens::text[]) AS h(id, token)
WHERE j.id = h.id AND j.attempt_token = h.token AND ${RUNNING_BY_ID}
RETURNING j.id, j.status, h.token`;

async function announceReleased(
  db: PgExecutor,
  rows: ReadonlyArray<{ id: string; status: string }>,
): Promise<void> {
  const cancelled = rows.filter((r) => r.status === 'cancelled').map((r) => r.id);
  if (cancelled.length > 0) await notifyFinished(db, cancelled);
  if (rows.some((r) => r.status === 'queued')) {
    await query(db, "SELECT pg_notify('runbox_jobs', '')");
  }
}

/**
 * Every job a worker holds goes back: 'drain' at once without penalty, 'lost' as the
 * reaper would (WorkerLost with backoff, failed when attempts are spent).
 */
export async function requeueOwnedBy(
  db: PgExecutor,
  workerId: string,
  mode: 'drain' | 'lost',
  retry: RetrySettings,
  random: () => number,
): Promise<ReapOutcome> {
  if (mode === 'drain') {
    const rows = await query<{ id: string; status: string }>(db, RELEASE_OWNED, {
      workerId,
      reason: `released: worker ${workerId} drained`,
    });
    await announceReleased(db, rows);
    return {
      requeued: rows.filter((r) => r.status === 'queued').map((r) => r.id),
      failed: [],
      cancelled: rows.filter((r) => r.status === 'cancelled').map((r) => r.id),
    };
  }
  const rows = await query<LostRow>(db, OWNED, { workerId });
  return loseJobs(db, rows, 'worker is gone', retry, random);
}

/**
 * A worker gives jobs back unfinished: queued again at once, no backoff, not a failure
 * (a job with a cancel request ends cancelled). The attempt keeps its number but no
 * longer counts against max_attempts. Returns the ids released; a stale token releases
 * nothing.
 */
export async function releaseJobs(
  db: PgExecutor,
  jobs: readonly HeldRef[],
  reason: string,
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const rows = await query<{ id: string; status: string; token: string }>(db, RELEASE, {
    reason,
    ids: jobs.map((j) => j.id),
    tokens: jobs.map((j) => j.token),
  });
  await announceReleased(db, rows);
  // By id and token: a forged token beside the live one releases nothing of its own.
  const released = new Set(rows.map((r) => `${r.id}\n${r.token}`));
  return jobs.filter((j) => released.has(`${j.id}\n${j.token}`)).map((j) => j.id);
}

const ADOPT = `
UPDATE jobs j
SET lease_owner = :workerId, lease_expires_at = now() + :leaseMs * ${MS},
    attempt_token = gen_random_uuid()::text, updated_at = now()
WHERE j.id = :jobId AND j.attempts = :attempt AND j.status = 'running'
  AND (j.lease_owner IS NULL OR j.lease_owner = :workerId OR j.lease_owner NOT IN (
    SELECT w.id FROM workers w
    WHERE w.stopped_at IS NULL AND w.last_heartbeat_at >= now() - :deadMs * ${MS}))
RETURNING ${CLAIMED_COLUMNS}`;

/**
 * Startup recovery: takes over a running job whose container outlived its worker, with a
 * fresh token. Null when the job moved on (other attempt, not running) or its owner is
 * still alive (on another node, say: recovery touches only this node's own containers).
 */
export async function adoptJob(
  db: PgExecutor,
  args: { jobId: string; attempt: number; workerId: string; leaseMs: number; deadMs: number },
): Promise<ClaimedJob | null> {
  const rows = await query<PgClaimRow>(db, ADOPT, args);
  return rows[0] ? toClaimedJob(rows[0], false) : null;
}

// A worker counts as alive here exactly as adoptJob and listWorkers judge it.
const FAIL_ORPHANED = `
UPDATE jobs j
SET status = 'failed', finished_at = now(), error_type = 'WorkerLost', updated_at = now(),
    error_message = 'the runbox run process this job was reserved for (worker ' || j.reserved_for ||
      ') is gone; a run job is executed only by its own process, so run it again'
WHERE j.status = 'queued' AND j.reserved_for IS NOT NULL
  AND j.reserved_for NOT IN (
    SELECT w.id FROM workers w
    WHERE w.stopped_at IS NULL AND w.last_heartbeat_at >= now() - :deadMs * ${MS})
RETURNING j.id`;

/** Jobs reserved for a `runbox run` process that is gone fail as WorkerLost (see reservations.ts). */
export async function failOrphanedReservations(db: PgExecutor, deadMs: number): Promise<string[]> {
  const ids = (await query<{ id: string }>(db, FAIL_ORPHANED, { deadMs })).map((r) => r.id);
  if (ids.length > 0) await notifyFinished(db, ids);
  return ids;
}

/** Owners of running jobs that are not alive (stopped, or silent for deadMs by the database's clock). */
export async function deadOwners(db: PgExecutor, deadMs: number): Promise<string[]> {
  const rows = await query<{ owner: string }>(
    db,
    `SELECT DISTINCT j.lease_owner AS owner FROM jobs j
     WHERE j.status = 'running' AND j.lease_owner IS NOT NULL
       AND j.lease_owner NOT IN (
         SELECT w.id FROM workers w
         WHERE w.stopped_at IS NULL AND w.last_heartbeat_at >= now() - :deadMs * ${MS})`,
    { deadMs },
  );
  return rows.map((r) => r.owner);
}
