import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import { claimFromRow, type ClaimRow } from '../rows.js';
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

export function claimDeliveries(
  db: Db,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): DeliveryClaim[] {
  const rows = immediate(
    db,
    () => sql(db, CLAIM).all({ owner, now, leaseUntil: now + leaseMs, limit }) as ClaimRow[],
  );
  return rows.map(claimFromRow);
}
