import type { RetrySettings } from '../retryPolicy.js';
import type { ClaimedJob, ClaimRequest, FinishItem, FinishOutcome } from '../types.js';
import { claimJobs } from './claimJobs.js';
import { savepoint, type Db } from './db.js';
import { finishJobs } from './finishJobs.js';

/** What recording and claiming read besides the items: the queue's settings and time. */
export interface FinishAndClaimOptions {
  now: number;
  leaseMs: number;
  retry: RetrySettings;
  contractVersion: string;
  random: () => number;
}

/**
 * The worker pool's hot path: records results, then claims the next jobs, in the
 * caller's transaction. Shared by the queue's own connection and its writer thread
 * (writer/), so both run the same statements.
 */
export function finishAndClaimJobs(
  db: Db,
  items: readonly FinishItem[],
  claim: ClaimRequest,
  options: FinishAndClaimOptions,
): { outcomes: FinishOutcome[]; claimed: ClaimedJob[] } {
  const { now } = options;
  const outcomes = finishJobs(db, items, {
    now,
    retry: options.retry,
    contractVersion: options.contractVersion,
    random: options.random,
  });
  let claimed: ClaimedJob[] = [];
  try {
    // Its own savepoint: a claim that fails must not take the results down with it.
    claimed = savepoint(db, () =>
      claimJobs(db, {
        workerId: claim.workerId,
        limit: claim.limit,
        leaseMs: options.leaseMs,
        now,
        reserved: claim.reserved,
        queues: claim.queues,
      }),
    );
  } catch (error) {
    // SQLite aborted the whole transaction: nothing of this batch can commit.
    if (!db.inTransaction) throw error;
  }
  return { outcomes, claimed };
}
