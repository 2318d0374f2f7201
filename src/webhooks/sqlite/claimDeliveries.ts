import { immediate, sql, type Db } from '../../queue/sqlite/db.js';
import { claimFromRow, type ClaimRow } from '../rows.js';
import { LOST_ATTEMPT_ERROR, type DeliveryClaim } from '../WebhookStore.js';

/** The due deliveries a claim takes, in the order it takes them. */
const DUE = `
  SELECT id FROM webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= :now
    AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
  ORDER BY next_attempt_at, id
  LIMIT :limit`;

// Among them, a lease that ran out with its owner still named is an attempt whose process
// stopped mid-POST (kill -9): the receiver may have had it, so it is counted and shown
// rather than its number sent again. Its start is the lease's start at this process's
// lease length. Only the rows this claim takes are looked at, so a backlog costs nothing.
const RECORD_LOST = `
INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
SELECT id, attempts + 1, lease_expires_at - :leaseMs, :leaseMs, NULL, :error
FROM webhook_deliveries WHERE id IN (${DUE}) AND lease_owner IS NOT NULL`;

const COUNT_LOST = `
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_status_code = NULL, last_error = :error
WHERE id IN (${DUE}) AND lease_owner IS NOT NULL`;

// BEGIN IMMEDIATE serialises claimers on one database: the second process's UPDATE
// sees the first one's lease and skips those rows. The three statements pick the same
// rows: none of them changes what DUE reads.
const CLAIM = `
UPDATE webhook_deliveries
SET lease_owner = :owner, lease_expires_at = :leaseUntil
WHERE id IN (${DUE})
RETURNING id, job_id, url, event, attempts, created_at`;

export function claimDeliveries(
  db: Db,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): DeliveryClaim[] {
  const rows = immediate(db, () => {
    sql(db, RECORD_LOST).run({ now, limit, leaseMs, error: LOST_ATTEMPT_ERROR });
    sql(db, COUNT_LOST).run({ now, limit, error: LOST_ATTEMPT_ERROR });
    return sql(db, CLAIM).all({ owner, now, leaseUntil: now + leaseMs, limit }) as ClaimRow[];
  });
  return rows.map(claimFromRow);
}
