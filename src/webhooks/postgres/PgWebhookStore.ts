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
import type { AttemptResult, DeliveryClaim, DeliveryView, WebhookStore } from '../WebhookStore.js';

// SKIP LOCKED: two delivery loops claiming at once each take rows the other has not
// locked, instead of waiting and then re-reading the same rows.
const CLAIM = `
UPDATE webhook_deliveries
SET lease_owner = :owner, lease_expires_at = :leaseUntil
WHERE id IN (
  SELECT id FROM webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= :now
    AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
  ORDER BY next_attempt_at, id
  LIMIT :limit
  FOR UPDATE SKIP LOCKED)
RETURNING id, job_id, url, event, attempts, created_at`;

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
