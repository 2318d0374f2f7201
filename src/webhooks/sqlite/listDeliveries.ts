import { sql, type Db } from '../../queue/sqlite/db.js';
import { deliveriesFromRows, type AttemptRow, type DeliveryRow } from '../rows.js';
import type { DeliveryView } from '../WebhookStore.js';

const DELIVERIES = `
SELECT id, url, event, status, attempts, created_at, next_attempt_at, finished_at,
       last_status_code, last_error
FROM webhook_deliveries WHERE job_id = :jobId ORDER BY id`;

const ATTEMPTS = `
SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error
FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE d.job_id = :jobId ORDER BY a.delivery_id, a.attempt`;

/** One read transaction (better-sqlite3 reads are consistent per statement; two are fine here). */
export function listDeliveries(db: Db, jobId: string): DeliveryView[] {
  const deliveries = sql(db, DELIVERIES).all({ jobId }) as DeliveryRow[];
  const attempts = sql(db, ATTEMPTS).all({ jobId }) as AttemptRow[];
  return deliveriesFromRows(deliveries, attempts);
}
