import type pg from 'pg';
import { query, transaction } from '../../queue/postgres/db.js';
import type {
  AttemptResult,
  AttemptView,
  DeliveryClaim,
  DeliveryView,
  WebhookStore,
} from '../WebhookStore.js';

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

interface ClaimRow {
  id: number;
  job_id: string;
  url: string;
  event: string;
  attempts: number;
  created_at: number;
}

interface DeliveryRow {
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

interface AttemptRow {
  delivery_id: number;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

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
    return rows.map((r) => ({
      id: r.id,
      jobId: r.job_id,
      url: r.url,
      event: r.event,
      attempts: r.attempts,
      createdAt: r.created_at,
    }));
  }

  async recordAttempt(r: AttemptResult): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      const [row] = await query<{ attempts: number }>(client, RECORD, {
        id: r.deliveryId,
        owner: r.owner,
        status: r.outcome === 'retry' ? 'pending' : r.outcome,
        nextAttemptAt: r.outcome === 'retry' ? r.nextAttemptAt : null,
        finishedAt: r.outcome === 'retry' ? null : r.now,
        statusCode: r.statusCode,
        error: r.error,
      });
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
    });
  }
}
