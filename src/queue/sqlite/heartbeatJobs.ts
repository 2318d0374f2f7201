import { immediate, sql, type Db } from './db.js';
import type { HeartbeatOutcome, HeldRef } from '../types.js';

export type { HeartbeatOutcome, HeldRef };

// The token names one attempt; a job that was reaped and re-claimed has a new one.
const RENEW = `
UPDATE jobs SET lease_expires_at = :expiresAt
WHERE id = :id AND attempt_token = :token AND status = 'running'
RETURNING cancel_requested`;

/** Renews the leases of the jobs a worker holds, in one transaction. */
export function heartbeatJobs(
  db: Db,
  jobs: readonly HeldRef[],
  leaseMs: number,
  now: number,
): HeartbeatOutcome {
  const outcome: HeartbeatOutcome = { held: [], lost: [], cancelRequested: [] };
  if (jobs.length === 0) return outcome;
  immediate(db, () => {
    for (const job of jobs) {
      const row = sql(db, RENEW).get({ id: job.id, token: job.token, expiresAt: now + leaseMs }) as
        { cancel_requested: number } | undefined;
      if (!row) {
        outcome.lost.push(job.id);
        continue;
      }
      outcome.held.push(job.id);
      if (row.cancel_requested !== 0) outcome.cancelRequested.push(job.id);
    }
  });
  return outcome;
}
