import type { AttemptResult, AttemptView, DeliveryClaim, DeliveryView } from './WebhookStore.js';

/**
 * The rows both backends' webhook tables give back (their schemas match column for
 * column) and how each becomes the store's view, so the two stores differ only in SQL
 * and transactions.
 */
export interface ClaimRow {
  id: number;
  job_id: string;
  url: string;
  event: string;
  attempts: number;
  created_at: number;
}

export interface DeliveryRow {
  id: number;
  url: string;
  event: string;
  status: DeliveryView['status'];
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  finished_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
}

export interface AttemptRow {
  delivery_id: number;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export function claimFromRow(r: ClaimRow): DeliveryClaim {
  return {
    id: r.id,
    jobId: r.job_id,
    url: r.url,
    event: r.event,
    attempts: r.attempts,
    createdAt: r.created_at,
  };
}

/** A job's deliveries, each with its attempts (given in any order) as history. */
export function deliveriesFromRows(
  deliveries: DeliveryRow[],
  attempts: AttemptRow[],
): DeliveryView[] {
  return deliveries.map((d) => ({
    id: d.id,
    url: d.url,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    createdAt: d.created_at,
    nextAttemptAt: d.status === 'pending' ? d.next_attempt_at : null,
    finishedAt: d.finished_at,
    lastStatusCode: d.last_status_code,
    lastError: d.last_error,
    history: attempts
      .filter((a) => a.delivery_id === d.id)
      .map((a): AttemptView => ({
        attempt: a.attempt,
        startedAt: a.started_at,
        durationMs: a.duration_ms,
        statusCode: a.status_code,
        error: a.error,
      })),
  }));
}

/** The parameters of the lease-checked update that records an attempt's outcome. */
export function attemptUpdateParams(r: AttemptResult) {
  return {
    id: r.deliveryId,
    owner: r.owner,
    status: r.outcome === 'retry' ? 'pending' : r.outcome,
    nextAttemptAt: r.outcome === 'retry' ? r.nextAttemptAt : null,
    finishedAt: r.outcome === 'retry' ? null : r.now,
    statusCode: r.statusCode,
    error: r.error,
  };
}
