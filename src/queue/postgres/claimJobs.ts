import type { ClaimedJob } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { CLAIMED_COLUMNS, MS, toClaimedJob, type PgClaimRow } from './rows.js';

export interface PgClaimArgs {
  workerId: string;
  /** Most jobs to take from each queue: a node's free slots per queue. */
  slots: ReadonlyArray<{ queue: string; limit: number }>;
  leaseMs: number;
  /** The contract stamp generation this node checked (see migrate.ts). */
  generation: number;
  /** Take only jobs reserved for this worker (runbox run's pool). @defaultValue false */
  reserved?: boolean | undefined;
}

// Taking a job: a new attempt, a fresh token from the database, a lease timed by the
// database's clock.
export const TAKE = `
UPDATE jobs j
SET status = 'running',
    attempts = j.attempts + 1,
    attempt_token = gen_random_uuid()::text,
    lease_owner = :workerId,
    lease_expires_at = now() + :leaseMs * ${MS},
    started_at = now(),
    updated_at = now()`;

/*
 * The shape graphile-worker, River and pg-boss use: a CTE picks due rows with
 * FOR UPDATE SKIP LOCKED and feeds an UPDATE ... RETURNING, all one statement. Rows
 * another node's claim is taking are skipped, not waited for, so N nodes claiming at
 * once each get different jobs and nobody blocks; a row is taken by exactly one claim
 * because its lock is held until that claim commits. The alternatives: SELECT then
 * UPDATE in two statements races under READ COMMITTED (both read the same row), and
 * FOR UPDATE without SKIP LOCKED serialises every node behind the first.
 *
 * Per-queue limits in one statement: a LATERAL subquery per (queue, limit), each
 * walking jobs_claim (queue, priority, run_at, id) in order and stopping at its limit.
 *
 * The stamp guard: the claim reads contract_generation FOR SHARE, so a newer build
 * raising the stamp (UPDATE of that row, migrate.ts) waits for claims in flight, and
 * every claim after its commit by a node that checked an older generation takes nothing.
 *
 * RETURNING gives no order guarantee, so the order is restored in JS.
 */
/** The CTEs (stamp, picked) choosing the jobs a claim takes from named queues. */
export const PICK = `stamp AS (
  SELECT value FROM meta WHERE key = 'contract_generation' FOR SHARE
), picked AS (
  SELECT p.id FROM unnest(:queues::text[], :limits::integer[]) AS w(queue, n)
  CROSS JOIN LATERAL (
    SELECT q.id FROM jobs q
    WHERE q.status = 'queued' AND q.reserved_for IS NULL AND q.queue = w.queue
      AND q.run_at <= now()
    ORDER BY q.priority, q.run_at, q.id
    LIMIT w.n
    FOR UPDATE SKIP LOCKED
  ) p
  WHERE (SELECT value FROM stamp) = :generation::text
)`;

/** The same for a reserved pool (runbox run's): only jobs reserved for this worker. */
export const PICK_RESERVED = `stamp AS (
  SELECT value FROM meta WHERE key = 'contract_generation' FOR SHARE
), picked AS (
  SELECT q.id FROM jobs q
  WHERE q.status = 'queued' AND q.reserved_for = :workerId AND q.run_at <= now()
    AND (SELECT value FROM stamp) = :generation::text
  ORDER BY q.priority, q.run_at, q.id
  LIMIT :limit
  FOR UPDATE SKIP LOCKED
)`;

const CLAIM = `
WITH ${PICK}
${TAKE}
FROM picked WHERE j.id = picked.id
RETURNING ${CLAIMED_COLUMNS}`;

const CLAIM_RESERVED = `
WITH ${PICK_RESERVED}
${TAKE}
FROM picked WHERE j.id = picked.id
RETURNING ${CLAIMED_COLUMNS}`;

/** Takes up to each queue's limit of due jobs, best first (priority, run_at, id). */
export async function claimJobs(db: PgExecutor, args: PgClaimArgs): Promise<ClaimedJob[]> {
  if (args.slots.every((s) => s.limit <= 0)) return [];
  const reserved = args.reserved === true;
  const rows = await query<PgClaimRow>(
    db,
    reserved ? CLAIM_RESERVED : CLAIM,
    claimParams(args),
    reserved ? 'runbox_claim_reserved' : 'runbox_claim',
  );
  return sortClaimed(rows);
}

/** The named parameters of PICK (or PICK_RESERVED when args.reserved) and TAKE. */
export function claimParams(args: PgClaimArgs): Record<string, unknown> {
  const slots = args.slots.filter((s) => s.limit > 0);
  const common = {
    workerId: args.workerId,
    leaseMs: args.leaseMs,
    generation: String(args.generation),
  };
  return args.reserved === true
    ? { ...common, limit: slots.reduce((sum, s) => sum + s.limit, 0) }
    : { ...common, queues: slots.map((s) => s.queue), limits: slots.map((s) => s.limit) };
}

/** RETURNING gives no order: claimed jobs in claim order (priority, run_at, id). */
export function sortClaimed(rows: PgClaimRow[]): ClaimedJob[] {
  rows.sort(
    (a, b) =>
      a.priority - b.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return rows.map((row) => toClaimedJob(row, true));
}
