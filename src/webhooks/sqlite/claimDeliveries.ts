import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import type { DeliveryClaim } from '../WebhookStore.js';

// BEGIN IMMEDIATE serialises claimers on one database: the second process's UPDATE
// sees the first one's lease and skips those rows.
const CLAIM = `
UPDATE webhook_deliveries
SET lease_owner = :owner, lease_expires_at = :leaseUntil
WHERE id IN (
  SELECT id FROM webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= :now
    AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
  ORDER BY next_attempt_at, id
  LIMIT :limit)
RETURNING id, job_id, url, event, attempts, created_at`;

interface Row {
  id: number;
  job_id: string;
  url: string;
  event: string;
  attempts: number;
  created_at: number;
}

export function claimDeliveries(
  db: Db,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): DeliveryClaim[] {
  const rows = immediate(
    db,
    () => sql(db, CLAIM).all({ owner, now, leaseUntil: now + leaseMs, limit }) as Row[],
  );
  return rows.map((r) => ({
    id: r.id,
    jobId: r.job_id,
    url: r.url,
    event: r.event,
    attempts: r.attempts,
    createdAt: r.created_at,
  }));
}
