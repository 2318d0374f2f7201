import { cancelledAfterExit } from '../../contract/failureResult.js';
import { blobsOfResult } from '../blobsOfResult.js';
import { immediate, sql, type Db } from './db.js';
import { decideForResult, jobError, type RetrySettings } from '../retryPolicy.js';
import type { FinishItem, FinishOutcome } from '../types.js';

export type { FinishItem, FinishOutcome };
export { blobsOfResult };

export interface FinishOptions {
  now: number;
  retry: RetrySettings;
  /** Version of the contract the results were validated against. */
  contractVersion: string;
  random?: () => number;
}

const CURRENT = `
SELECT attempts, released_attempts, max_attempts, retry_on_exit_codes, cancel_requested FROM jobs
WHERE id = :id AND attempt_token = :token AND status = 'running'`;

const RETRY = `
UPDATE jobs
SET status = 'queued', run_at = :runAt, lease_owner = NULL, lease_expires_at = NULL,
    attempt_token = NULL, result = :result, error_type = :errorType,
    error_message = :errorMessage, contract_version = :contractVersion, updated_at = :now
WHERE id = :id`;

const FINAL = `
UPDATE jobs
SET status = :status, finished_at = :now, lease_owner = NULL, lease_expires_at = NULL,
    attempt_token = NULL, result = :result, error_type = :errorType,
    error_message = :errorMessage, contract_version = :contractVersion, updated_at = :now,
    final_work = final_work
WHERE id = :id`;

// A success is final whatever the job's attempts or exit codes say (retryPolicy.decide),
// so it needs no read first: the token check is the WHERE clause. 0 rows changed means
// stale, or a cancel was accepted meanwhile (the general path below ends it cancelled).
// Half the statements for the common case.
// SUCCEEDED does not name final_work, so the final-work trigger is not compiled into it
// (migration 009): it takes only jobs without final work, and SUCCEEDED_WITH_WORK,
// which names it, the others.
const SUCCEEDED_SET = `
UPDATE jobs
SET status = 'succeeded', finished_at = :now, lease_owner = NULL, lease_expires_at = NULL,
    attempt_token = NULL, result = :result, error_type = NULL,
    error_message = NULL, contract_version = :contractVersion, updated_at = :now`;

const SUCCEEDED_WHERE = `
WHERE id = :id AND attempt_token = :token AND status = 'running' AND cancel_requested = 0`;

const SUCCEEDED = `${SUCCEEDED_SET}${SUCCEEDED_WHERE} AND final_work = 0`;

const SUCCEEDED_WITH_WORK = `${SUCCEEDED_SET}, final_work = final_work${SUCCEEDED_WHERE}`;

const ADD_BLOB = 'INSERT OR IGNORE INTO job_blobs (job_id, sha256) VALUES (:id, :sha256)';

/**
 * Records attempt results in one transaction. Each item is checked against the live
 * attempt: a worker whose lease was taken over gets 'stale' and its late result never
 * overwrites the live attempt's. Otherwise retryPolicy decides: final state, or back to
 * queued with backoff (the last result and its error stay visible meanwhile).
 */
export function finishJobs(
  db: Db,
  items: readonly FinishItem[],
  options: FinishOptions,
): FinishOutcome[] {
  const { now } = options;
  return immediate(db, () =>
    items.map((item): FinishOutcome => {
      if (item.result.error === null) {
        const row = {
          id: item.id,
          token: item.token,
          now,
          result: JSON.stringify(item.result),
          contractVersion: options.contractVersion,
        };
        if (
          sql(db, SUCCEEDED).run(row).changes > 0 ||
          sql(db, SUCCEEDED_WITH_WORK).run(row).changes > 0
        ) {
          addBlobs(db, item);
          return 'recorded';
        }
      }
      const job = sql(db, CURRENT).get({ id: item.id, token: item.token }) as
        | {
            attempts: number;
            released_attempts: number;
            max_attempts: number;
            retry_on_exit_codes: string;
            cancel_requested: number;
          }
        | undefined;
      if (!job) return 'stale';
      // A success here had its cancel accepted while it was being recorded: the cancel's
      // answer said it would end cancelled, so it does, with its outputs kept.
      const result = job.cancel_requested !== 0 ? cancelledAfterExit(item.result) : item.result;
      const decision = decideForResult(
        result,
        {
          attempts: job.attempts,
          releasedAttempts: job.released_attempts,
          maxAttempts: job.max_attempts,
          retryOnExitCodes: JSON.parse(job.retry_on_exit_codes) as number[],
          cancelRequested: job.cancel_requested !== 0,
        },
        options.retry,
        options.random,
      );
      const error = jobError(result, decision);
      const common = {
        id: item.id,
        now,
        result: JSON.stringify(result),
        errorType: error.type,
        errorMessage: error.message,
        contractVersion: options.contractVersion,
      };
      if (decision.kind === 'retry') {
        sql(db, RETRY).run({ ...common, runAt: now + decision.delayMs });
      } else {
        sql(db, FINAL).run({ ...common, status: decision.kind });
      }
      addBlobs(db, item);
      return decision.kind === 'cancelled' ? 'cancelled' : 'recorded';
    }),
  );
}

function addBlobs(db: Db, item: FinishItem): void {
  for (const sha256 of item.blobs ?? blobsOfResult(item.result)) {
    sql(db, ADD_BLOB).run({ id: item.id, sha256 });
  }
}
