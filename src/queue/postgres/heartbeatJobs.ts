import type { HeartbeatOutcome, HeldRef } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { MS, RUNNING_BY_ID } from './rows.js';

// The token names one attempt; a job that was reaped and re-claimed has a new one.
// One statement for every job the worker holds.
const RENEW = `
UPDATE jobs j SET lease_expires_at = now() + :leaseMs * ${MS}
FROM unnest(:ids::text[], :tokens::text[]) AS h(id, token)
WHERE j.id = h.id AND j.attempt_token = h.token AND ${RUNNING_BY_ID}
RETURNING j.id, h.token, j.cancel_requested`;

/** Renews the leases of the jobs a worker holds; the others are lost. */
export async function heartbeatJobs(
  db: PgExecutor,
  jobs: readonly HeldRef[],
  leaseMs: number,
): Promise<HeartbeatOutcome> {
  const outcome: HeartbeatOutcome = { held: [], lost: [], cancelRequested: [] };
  if (jobs.length === 0) return outcome;
  const rows = await query<{ id: string; token: string; cancel_requested: boolean }>(db, RENEW, {
    leaseMs,
    ids: jobs.map((j) => j.id),
    tokens: jobs.map((j) => j.token),
  });
  // By id and token: a stale token for a job this worker also holds is lost, the live one held.
  const renewed = new Map(rows.map((r) => [`${r.id}\n${r.token}`, r.cancel_requested]));
  for (const job of jobs) {
    const cancel = renewed.get(`${job.id}\n${job.token}`);
    if (cancel === undefined) {
      outcome.lost.push(job.id);
      continue;
    }
    outcome.held.push(job.id);
    if (cancel) outcome.cancelRequested.push(job.id);
  }
  return outcome;
}
