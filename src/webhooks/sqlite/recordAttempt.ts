import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import { attemptUpdateParams } from '../rows.js';
import type { AttemptResult } from '../WebhookStore.js';

// The lease check is the WHERE clause: a process whose lease ran out and was taken over
// records nothing, so one attempt number is never written twice.
const UPDATE = `
UPDATE webhook_deliveries
SET attempts = attempts + 1,
    status = :status,
    next_attempt_at = coalesce(:nextAttemptAt, next_attempt_at),
    finished_at = :finishedAt,
    last_status_code = :statusCode,
    last_error = :error,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'pending'
RETURNING attempts`;

const INSERT_ATTEMPT = `
INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
VALUES (:id, :attempt, :startedAt, :durationMs, :statusCode, :error)`;

export function recordAttempt(db: Db, r: AttemptResult): boolean {
  return immediate(db, () => {
    const row = sql(db, UPDATE).get(attemptUpdateParams(r)) as { attempts: number } | undefined;
    if (!row) return false;
    sql(db, INSERT_ATTEMPT).run({
      id: r.deliveryId,
      attempt: row.attempts,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      statusCode: r.statusCode,
      error: r.error,
    });
    return true;
  });
}
