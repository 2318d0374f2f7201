import { sql, type Db } from '../../queue/sqlite/db.js';
import type { AttemptView, DeliveryView } from '../WebhookStore.js';

const DELIVERIES = `
SELECT id, url, event, status, attempts, created_at, next_attempt_at, finished_at,
       last_status_code, last_error
FROM webhook_deliveries WHERE job_id = :jobId ORDER BY id`;

const ATTEMPTS = `
SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error
FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE d.job_id = :jobId ORDER BY a.delivery_id, a.attempt`;

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

/** One read transaction (better-sqlite3 reads are consistent per statement; two are fine here). */
export function listDeliveries(db: Db, jobId: string): DeliveryView[] {
  const deliveries = sql(db, DELIVERIES).all({ jobId }) as DeliveryRow[];
  const attempts = sql(db, ATTEMPTS).all({ jobId }) as AttemptRow[];
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
