import { immediate, sql, type Db } from './db.js';
import { specOf } from './jobInputs.js';
import type { ClaimedJob } from '../types.js';

export interface ClaimArgs {
  workerId: string;
  /** Most jobs to take at once (a pool claims into a local buffer). */
  limit: number;
  leaseMs: number;
  now: number;
  /**
   * Take only jobs reserved for this worker (runbox run's pool), instead of the shared
   * queue's. @defaultValue false
   */
  reserved?: boolean | undefined;
  /** Queues to take from, each at most min(its limit, limit). @defaultValue [{ name: 'default', limit }] */
  queues?: ReadonlyArray<{ name: string; limit: number }> | undefined;
}

/*
 * One statement: choosing and taking happen under the same write lock, so two workers
 * (connections, processes) can never take the same job. The alternatives are unsafe or
 * slower: SELECT then UPDATE in a deferred transaction races (both read the same row);
 * SELECT then UPDATE ... WHERE status = 'queued' under BEGIN IMMEDIATE is safe but is
 * two statements per claim. Each row gets its own token from randomblob() (evaluated
 * per row), which heartbeats and the result must present.
 * INDEXED BY pins the plan to the partial index (see 001_init): a sort of every queued
 * row per claim would be the slowest way to pick one.
 * The subquery picks rowids, not ids: the partial index holds the rowid, so each taken
 * row is one b-tree search instead of two (id's own index, then the table).
 * RETURNING gives no order guarantee, so the caller's order is restored in JS.
 */
// Taking a job: a new attempt, a fresh token, a lease for this worker.
const TAKE = `
UPDATE jobs
SET status = 'running',
    attempts = attempts + 1,
    attempt_token = lower(hex(randomblob(16))),
    lease_owner = :workerId,
    lease_expires_at = :now + :leaseMs,
    started_at = :now,
    updated_at = :now`;

const CLAIMED_COLUMNS =
  'RETURNING id, queue, attempts, attempt_token, spec, inputs_apart, priority, run_at, max_attempts, lease_expires_at';

// A reserved job (runbox run's) is never in the shared claim: the index leaves it out.
const CLAIM = `${TAKE}
WHERE rowid IN (
  SELECT rowid FROM jobs INDEXED BY jobs_claim
  WHERE queue = :queue AND status = 'queued' AND reserved_for IS NULL AND run_at <= :now
  ORDER BY priority, run_at, id
  LIMIT :limit
)
${CLAIMED_COLUMNS}`;

const CLAIM_RESERVED = `${TAKE}
WHERE rowid IN (
  SELECT rowid FROM jobs INDEXED BY jobs_reserved
  WHERE status = 'queued' AND reserved_for = :workerId AND run_at <= :now
  ORDER BY priority, run_at, id
  LIMIT :limit
)
${CLAIMED_COLUMNS}`;

export interface ClaimRow {
  id: string;
  queue: string;
  attempts: number;
  attempt_token: string;
  spec: string;
  inputs_apart: number;
  priority: number;
  run_at: number;
  max_attempts: number;
  lease_expires_at: number;
}

/**
 * Takes due jobs, best first (priority, then run_at, then id): reserved ones up to
 * `limit`, or from each named queue up to min(its limit, limit), as PostgreSQL's claim
 * does. One statement per queue, all in one write transaction.
 */
export function claimJobs(db: Db, args: ClaimArgs): ClaimedJob[] {
  if (args.limit <= 0) return [];
  const { reserved, queues, ...rest } = args;
  const rows = immediate(db, () => {
    if (reserved === true) return sql(db, CLAIM_RESERVED).all(rest) as ClaimRow[];
    const slots = queues ?? [{ name: 'default', limit: args.limit }];
    return slots.flatMap((q) => {
      const limit = Math.min(q.limit, args.limit);
      if (limit <= 0) return [];
      return sql(db, CLAIM).all({ ...rest, limit, queue: q.name }) as ClaimRow[];
    });
  });
  rows.sort(
    (a, b) =>
      a.priority - b.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return rows.map((row) => {
    const job = toClaimedJob(db, row);
    job.runAt = row.run_at;
    return job;
  });
}

/** A row a claim or an adoption returned, as the job the worker now holds. */
export function toClaimedJob(db: Db, row: Omit<ClaimRow, 'run_at'>): ClaimedJob {
  return {
    id: row.id,
    queue: row.queue,
    attempt: row.attempts,
    token: row.attempt_token,
    spec: specOf(db, row),
    priority: row.priority,
    maxAttempts: row.max_attempts,
    leaseExpiresAt: row.lease_expires_at,
  };
}
