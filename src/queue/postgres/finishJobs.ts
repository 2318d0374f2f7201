import { blobsOfResult } from '../blobsOfResult.js';
import type { FinishItem, FinishOutcome } from '../types.js';
import { decideForResult, jobError, type RetrySettings } from '../retryPolicy.js';
import { query, type PgExecutor } from './db.js';
import { MS, RUNNING_BY_ID } from './rows.js';

/** The channel recorded results are announced on; the payload is job ids, comma-separated. */
export const FINISHED_CHANNEL = 'runbox_finished';

export interface PgFinishOptions {
  retry: RetrySettings;
  /** Version of the contract the results were validated against. */
  contractVersion: string;
  random?: () => number;
  /**
   * Who recorded them, carried in the notification: the recording process tells its own
   * listeners itself, at once, and ignores its own notification. @defaultValue ''
   */
  origin?: string;
}

// What a failed attempt's retry decision needs, read (and locked) for failures only: a
// success is final whatever the job says (retryPolicy.decide), so it needs no read; one
// whose cancel was accepted meanwhile ends cancelled in the UPDATE itself (CANCELLED).
const CURRENT = `
SELECT j.id, j.attempts, j.released_attempts, j.max_attempts, j.retry_on_exit_codes, j.cancel_requested
FROM jobs j JOIN unnest(:ids::text[], :tokens::text[]) AS h(id, token)
  ON j.id = h.id AND j.attempt_token = h.token
WHERE ${RUNNING_BY_ID}
ORDER BY j.id
FOR UPDATE OF j`;

/**
 * SQL for a success whose cancel was accepted before its commit: it ends cancelled, as
 * cancelledAfterExit (contract/failureResult.ts) makes it on the pool and in the SQLite
 * queue, with the same message. `ok` is the SQL that says the item is such a success;
 * `result` the item's result JSON text.
 */
export function cancelledSuccess(ok: string, result: string) {
  const message =
    `'cancelled after it exited with code ' || coalesce((${result})::json->>'exit_code', '?') ` +
    `|| ', while its outputs were collected; its logs and outputs are kept'`;
  return {
    status: (otherwise: string) => `CASE WHEN ${ok} THEN 'cancelled' ELSE ${otherwise} END`,
    result: `CASE WHEN ${ok} THEN jsonb_set((${result})::jsonb, '{error}',
      jsonb_build_object('type', 'Cancelled', 'message', ${message}, 'field', NULL))::json
      ELSE (${result})::json END`,
    errorType: (otherwise: string) => `CASE WHEN ${ok} THEN 'Cancelled' ELSE ${otherwise} END`,
    errorMessage: (otherwise: string) => `CASE WHEN ${ok} THEN ${message} ELSE ${otherwise} END`,
  };
}

const CANCELLED = cancelledSuccess("f.status = 'succeeded' AND j.cancel_requested", 'f.result');

// Every result in one statement. The token check is in the WHERE clause: a row that is
// not the live attempt's any more is not updated, and its item is 'stale'.
// A retry goes back to queued at now() + its backoff; a final state is finished now().
const RECORD = `
UPDATE jobs j
SET status = ${CANCELLED.status('f.status')},
    run_at = CASE WHEN f.status = 'queued' THEN now() + f.delay_ms * ${MS} ELSE j.run_at END,
    finished_at = CASE WHEN f.status = 'queued' THEN NULL ELSE now() END,
    lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL,
    result = ${CANCELLED.result}, error_type = ${CANCELLED.errorType('f.error_type')},
    error_message = ${CANCELLED.errorMessage('f.error_message')},
    contract_version = :contractVersion, updated_at = now()
FROM unnest(:ids::text[], :tokens::text[], :statuses::text[], :delays::bigint[],
            :results::text[], :errorTypes::text[], :errorMessages::text[])
     AS f(id, token, status, delay_ms, result, error_type, error_message)
WHERE j.id = f.id AND j.attempt_token = f.token AND ${RUNNING_BY_ID}
RETURNING j.id, f.token, j.status`;

const ADD_BLOBS = `
INSERT INTO job_blobs (job_id, sha256)
SELECT * FROM unnest(:jobIds::text[], :shas::text[])
ON CONFLICT DO NOTHING`;

/**
 * Records attempt results in the caller's transaction, with one read (failures only),
 * one UPDATE and one INSERT whatever the number of items. Each item is checked against
 * the live attempt: a worker whose lease was taken over gets 'stale' and its late
 * result never overwrites the live attempt's. Otherwise retryPolicy decides: final
 * state, or back to queued with backoff (the last result and its error stay visible).
 * Recorded jobs are announced (NOTIFY, delivered at commit) for wait=true waiters on
 * every node.
 */
export async function finishJobs(
  db: PgExecutor,
  items: readonly FinishItem[],
  options: PgFinishOptions,
): Promise<FinishOutcome[]> {
  if (items.length === 0) return [];
  const failures = items.filter((item) => item.result.error !== null);
  const current = new Map<
    string,
    {
      attempts: number;
      released_attempts: number;
      max_attempts: number;
      retry_on_exit_codes: number[];
      cancel_requested: boolean;
    }
  >();
  if (failures.length > 0) {
    const rows = await query<{
      id: string;
      attempts: number;
      released_attempts: number;
      max_attempts: number;
      retry_on_exit_codes: number[];
      cancel_requested: boolean;
    }>(db, CURRENT, { ids: failures.map((i) => i.id), tokens: failures.map((i) => i.token) });
    for (const row of rows) current.set(row.id, row);
  }
  const writes: Array<{
    item: FinishItem;
    status: string;
    delayMs: number;
    error: ReturnType<typeof jobError>;
  }> = [];
  for (const item of items) {
    if (item.result.error === null) {
      writes.push({ item, status: 'succeeded', delayMs: 0, error: { type: null, message: null } });
      continue;
    }
    const job = current.get(item.id);
    if (!job) continue; // stale: not the live attempt
    const decision = decideForResult(
      item.result,
      {
        attempts: job.attempts,
        releasedAttempts: job.released_attempts,
        maxAttempts: job.max_attempts,
        retryOnExitCodes: job.retry_on_exit_codes,
        cancelRequested: job.cancel_requested,
      },
      options.retry,
      options.random,
    );
    writes.push({
      item,
      status: decision.kind === 'retry' ? 'queued' : decision.kind,
      delayMs: decision.kind === 'retry' ? decision.delayMs : 0,
      error: jobError(item.result, decision),
    });
  }
  const recorded =
    writes.length === 0
      ? []
      : await query<{ id: string; token: string; status: string }>(db, RECORD, {
          contractVersion: options.contractVersion,
          ids: writes.map((w) => w.item.id),
          tokens: writes.map((w) => w.item.token),
          statuses: writes.map((w) => w.status),
          delays: writes.map((w) => Math.max(0, Math.round(w.delayMs))),
          results: writes.map((w) => JSON.stringify(w.item.result)),
          errorTypes: writes.map((w) => w.error.type),
          errorMessages: writes.map((w) => w.error.message),
        });
  const done = recordedOutcomes(recorded.map((r) => [r.id, r.token, r.status]));
  const blobJobs: string[] = [];
  const blobShas: string[] = [];
  for (const { item } of writes) {
    if (!done.has(outcomeKey(item))) continue;
    for (const sha of item.blobs ?? blobsOfResult(item.result)) {
      blobJobs.push(item.id);
      blobShas.push(sha);
    }
  }
  if (blobJobs.length > 0) await query(db, ADD_BLOBS, { jobIds: blobJobs, shas: blobShas });
  if (recorded.length > 0) {
    await notifyFinished(db, [...new Set(recorded.map((r) => r.id))], options.origin);
  }
  return items.map((item) => done.get(outcomeKey(item)) ?? 'stale');
}

/** By id and token: an item with a stale token beside the live one is 'stale'. */
export function outcomeKey(item: { id: string; token: string }): string {
  return `${item.id}\n${item.token}`;
}

/** Each recorded (id, token, status after the update) as its outcome, by outcomeKey. */
export function recordedOutcomes(
  rows: ReadonlyArray<readonly [string, string, string]>,
): Map<string, FinishOutcome> {
  return new Map(
    rows.map(([id, token, status]) => [
      outcomeKey({ id, token }),
      status === 'cancelled' ? 'cancelled' : 'recorded',
    ]),
  );
}

/**
 * NOTIFY payloads are capped at 8000 bytes: "ORIGIN IDS" with ids (26 characters) in
 * chunks well under it. A listener that misses one (reconnecting) falls back to polling.
 */
export async function notifyFinished(
  db: PgExecutor,
  ids: readonly string[],
  origin = '',
): Promise<void> {
  for (let i = 0; i < ids.length; i += 200) {
    await query(db, 'SELECT pg_notify(:channel, :payload)', {
      channel: FINISHED_CHANNEL,
      payload: `${origin} ${ids.slice(i, i + 200).join(',')}`,
    });
  }
}
