import { blobsOfResult } from '../blobsOfResult.js';
import type { ClaimedJob, FinishItem, FinishOutcome } from '../types.js';
import {
  PICK,
  PICK_RESERVED,
  TAKE,
  claimParams,
  sortClaimed,
  type PgClaimArgs,
} from './claimJobs.js';
import { query, type PgExecutor } from './db.js';
import { FINISHED_CHANNEL, cancelledSuccess, outcomeKey, recordedOutcomes } from './finishJobs.js';
import { CLAIMED_COLUMNS, RUNNING_BY_ID, type PgClaimRow } from './rows.js';

/*
 * finishAndClaim for a batch of successes as ONE statement, run on its own (autocommit,
 * so one round trip and one commit): the pool's no-op throughput was bound by round trips
 * (BEGIN, UPDATE, pg_notify, SAVEPOINT, claim, RELEASE, COMMIT: seven per batch), not by
 * the database. One statement is one transaction, as finishJobs + claimJobs in one
 * transaction were, and keeps every check they make:
 * - recorded: finishJobs' RECORD for successes (a success needs no retry decision, so no
 *   read first); the token check is in the WHERE clause, a stale item updates nothing.
 * - blobs: job_blobs rows of recorded items only (joined on id and token).
 * - notified: finishJobs' NOTIFY (delivered at commit), chunked as notifyFinished does.
 *   A SELECT CTE runs only when read, so the final SELECT reads it.
 * - stamp, picked, claimed: claimJobs' claim, FOR UPDATE SKIP LOCKED, same guard.
 * - ids and tokens are text[] parameters; the results are ONE text parameter, their JSON
 *   joined by RS (U+001E), split by string_to_array. As a text[] the driver escaped every
 *   result character by character (escapeElement: its quotes, ~6 us a job, a tenth of the
 *   node's CPU at 24 slots) and the server unescaped it; JSON.stringify never writes a raw
 *   control character (it writes \u001e), so RS cannot occur inside a result. One JSON
 *   document read by json_to_recordset spared the escaping too but cost the server ~12 us
 *   a job more (3 ms for 256 results): it parses every result twice.
 * - the answer: one row per claimed job (one row when none), the recorded (id, token,
 *   status) triples in the first row only. Repeated in every row, as they once were, they cost
 *   batch² (250 results and 250 claims: 250 copies of a 17 KB JSON array, 4 MB to send
 *   and parse), which is why large batches were slower this way than in a transaction.
 * The CTEs share one snapshot: recorded updates rows that were running, claimed rows that
 * were queued, never the same row, so neither sees (or needs) the other's writes.
 * Failures (which need the retry decision, read under lock first) go the general way.
 */
// A success whose cancel was accepted before this commit ends cancelled (finishJobs.ts).
const CANCELLED = cancelledSuccess('j.cancel_requested', 'f.result');

function statement(pick: string): string {
  return `
WITH recorded AS (
  UPDATE jobs j
  SET status = ${CANCELLED.status("'succeeded'")}, finished_at = now(),
      lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL,
      result = ${CANCELLED.result}, error_type = ${CANCELLED.errorType('NULL')},
      error_message = ${CANCELLED.errorMessage('NULL')},
      contract_version = :contractVersion, updated_at = now()
  FROM unnest(:ids::text[], :tokens::text[], string_to_array(:results::text, E'\\x1e'))
    AS f(id, token, result)
  WHERE j.id = f.id AND j.attempt_token = f.token AND ${RUNNING_BY_ID}
  RETURNING j.id, f.token, j.status
), blobs AS (
  INSERT INTO job_blobs (job_id, sha256)
  SELECT b.job_id, b.sha256
  FROM unnest(:blobJobs::text[], :blobTokens::text[], :blobShas::text[]) AS b(job_id, token, sha256)
  JOIN recorded r ON r.id = b.job_id AND r.token = b.token
  ON CONFLICT DO NOTHING
), notified AS (
  SELECT pg_notify(:channel, :origin::text || ' ' || string_agg(d.id, ',' ORDER BY d.id))
  FROM (SELECT u.id, (row_number() OVER (ORDER BY u.id) - 1) / 200 AS chunk
        FROM (SELECT DISTINCT id FROM recorded) u) d
  GROUP BY d.chunk
), ${pick}, claimed AS (
  ${TAKE}
  FROM picked WHERE j.id = picked.id
  RETURNING ${CLAIMED_COLUMNS}
)
SELECT CASE WHEN row_number() OVER () = 1 THEN r.recorded END AS recorded, r.notified, c.*
FROM (SELECT (SELECT json_agg(json_build_array(id, token, status)) FROM recorded) AS recorded,
             (SELECT count(*) FROM notified) AS notified) r
LEFT JOIN claimed c ON true`;
}

const FINISH_AND_CLAIM = statement(PICK);
const FINISH_AND_CLAIM_RESERVED = statement(PICK_RESERVED);

type Row = Partial<PgClaimRow> & { recorded: Array<[string, string, string]> | null };

/** Record separator: never in JSON.stringify's output (control characters are escaped). */
const RS = '\u001e';

/** The items' results as one text, RS between them: string_to_array(:results, RS) above. */
export function joinResults(items: readonly FinishItem[]): string {
  let text = '';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) text += RS;
    text += JSON.stringify(items[i]!.result);
  }
  return text;
}

/** True when finishAndClaimSuccesses can record these items (all successes). */
export function allSucceeded(items: readonly FinishItem[]): boolean {
  return items.every((item) => item.result.error === null);
}

/**
 * Records successes and claims the next jobs in one statement (see above). The caller
 * runs it outside any transaction (it is one) and, since a failed statement changed
 * nothing, may fall back to the general path on an error.
 */
export async function finishAndClaimSuccesses(
  db: PgExecutor,
  items: readonly FinishItem[],
  claim: PgClaimArgs,
  options: { contractVersion: string; origin: string },
): Promise<{ outcomes: FinishOutcome[]; claimed: ClaimedJob[] }> {
  const blobJobs: string[] = [];
  const blobTokens: string[] = [];
  const blobShas: string[] = [];
  for (const item of items) {
    for (const sha of item.blobs ?? blobsOfResult(item.result)) {
      blobJobs.push(item.id);
      blobTokens.push(item.token);
      blobShas.push(sha);
    }
  }
  const reserved = claim.reserved === true;
  const rows = await query<Row>(
    db,
    reserved ? FINISH_AND_CLAIM_RESERVED : FINISH_AND_CLAIM,
    {
      ...claimParams(claim),
      contractVersion: options.contractVersion,
      ids: items.map((i) => i.id),
      tokens: items.map((i) => i.token),
      results: joinResults(items),
      blobJobs,
      blobTokens,
      blobShas,
      channel: FINISHED_CHANNEL,
      origin: options.origin,
    },
    reserved ? 'runbox_finish_and_claim_reserved' : 'runbox_finish_and_claim',
  );
  const done = recordedOutcomes(rows.find((r) => r.recorded != null)?.recorded ?? []);
  const claimed = sortClaimed(rows.filter((r): r is Row & PgClaimRow => r.id != null));
  return { outcomes: items.map((item) => done.get(outcomeKey(item)) ?? 'stale'), claimed };
}
