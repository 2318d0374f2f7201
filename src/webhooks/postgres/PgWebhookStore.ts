import type pg from 'pg';
import { query, transaction } from '../../queue/postgres/db.js';
import {
  attemptUpdateParams,
  claimFromRow,
  deliveriesFromRows,
  type AttemptRow,
  type ClaimRow,
  type DeliveryRow,
} from '../rows.js';
import {
  LOST_ATTEMPT_ERROR,
  type AttemptResult,
  type DeliveryClaim,
  type DeliveryView,
  type WebhookStore,
} from '../WebhookStore.js';

// SKIP LOCKED: two delivery loops claiming at once each take rows the other has not
// locked, instead of waiting and then re-reading the same rows. A due row whose lease ran out with its owner still named is an attempt whose process
// stopped mid-POST (kill -9): the receiver may have had it, so it is counted and shown
// (started at the lease's start, at this process's lease length) rather than its number
// sent again. The due rows are locked once and every step reads them from `due`.
const CLAIM = `
WITH due AS (
  SELECT id, lease_owner IS NOT NULL AS lost, lease_expires_at AS lost_until
  FROM webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= :now
    AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
  ORDER BY next_attempt_at, id
  LIMIT :limit
  FOR UPDATE SKIP LOCKED),
claimed AS (
  UPDATE webhook_deliveries d
  SET lease_owner = :owner, lease_expires_at = :leaseUntil,
      attempts = d.attempts + CASE WHEN due.lost THEN 1 ELSE 0 END,
      last_status_code = CASE WHEN due.lost THEN NULL ELSE d.last_status_code END,
      last_error = CASE WHEN due.lost THEN :error::text ELSE d.last_error END
  FROM due WHERE d.id = due.id
  RETURNING d.id, d.job_id, d.url, d.event, d.attempts, d.created_at, due.lost, due.lost_until),
recorded AS (
  INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
  SELECT id, attempts, lost_until - :leaseMs::integer, :leaseMs::integer, NULL, :error::text
  FROM claimed WHERE lost)
SELECT id, job_id, url, event, attempts, created_at FROM claimed`;

// The lease check is the WHERE clause: a process whose lease was taken over records nothing.
const RECORD = `
UPDATE webhook_deliveries
SET attempts = attempts + 1,
    status = :status,
    next_attempt_at = coalesce(:nextAttemptAt::bigint, next_attempt_at),
    finished_at = :finishedAt::bigint,
    last_status_code = :statusCode::integer,
    last_error = :error::text,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'pending'
RETURNING attempts`;

const INSERT_ATTEMPT = `
INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
VALUES (:id, :attempt, :startedAt, :durationMs, :statusCode::integer, :error::text)`;

const DELIVERIES = `
SELECT id, url, event, status, attempts, created_at, next_attempt_at, finished_at,
       last_status_code, last_error
FROM webhook_deliveries WHERE job_id = :jobId ORDER BY id`;

const ATTEMPTS = `
SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error
FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE d.job_id = :jobId ORDER BY a.delivery_id, a.attempt`;

/**
 * Deliveries in the PostgreSQL queue's database (migration 002): rows written by its
 * trigger in the transaction that ends the job; each call here one transaction on the
 * queue's pool.
 */
export class PgWebhookStore implements WebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  async claimDue(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<DeliveryClaim[]> {
    const rows = await query<ClaimRow>(this.pool, CLAIM, {
      owner,
      now,
      leaseUntil: now + leaseMs,
      limit,
      leaseMs,
      error: LOST_ATTEMPT_ERROR,
    });
    return rows.map(claimFromRow);
  }

  async recordAttempt(r: AttemptResult): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      const [row] = await query<{ attempts: number }>(client, RECORD, attemptUpdateParams(r));
      if (!row) return false;
      await query(client, INSERT_ATTEMPT, {
        id: r.deliveryId,
        attempt: row.attempts,
        startedAt: r.startedAt,
        durationMs: Math.round(r.durationMs),
        statusCode: r.statusCode,
        error: r.error,
      });
      return true;
    });
  }

  async countPending(): Promise<number> {
    const rows = await query<{ n: number }>(
      this.pool,
      "SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'",
    );
    return rows[0]?.n ?? 0;
  }

  async listForJob(jobId: string): Promise<DeliveryView[]> {
    // One snapshot for both reads, so an attempt recorded between them is not half seen.
    return transaction(this.pool, async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const deliveries = await query<DeliveryRow>(client, DELIVERIES, { jobId });
      const attempts = await query<AttemptRow>(client, ATTEMPTS, { jobId });
      return deliveriesFromRows(deliveries, attempts);
    });
  }
}
