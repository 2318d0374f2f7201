import type pg from 'pg';
import { query, transaction } from '../db.js';

/*
 * One statement for all the blobs, in sha256 order so two puts touching the same blobs
 * lock their rows in the same order (no deadlock). A row gc is condemning is locked by
 * gc's transaction: the upsert waits for it to commit and then sees its deleting_until
 * (ON CONFLICT DO UPDATE acts on the newest committed row), so a touch is either before
 * the condemnation (and the blob is no longer a candidate) or after it (and waits).
 * Clearing condemned_at is how forget() learns the blob was touched since: a time
 * comparison would not do, now() being the time each transaction began.
 * The wait is measured with clock_timestamp(), after the lock was taken.
 */
export const TOUCH_SQL = `
INSERT INTO blobs AS b (sha256, last_referenced_at)
  SELECT sha256, now() FROM unnest(:shas::text[]) AS t (sha256) ORDER BY sha256
ON CONFLICT (sha256) DO UPDATE
  SET last_referenced_at = greatest(b.last_referenced_at, excluded.last_referenced_at),
      condemned_at = NULL
RETURNING b.sha256,
  CASE WHEN b.deleting_until > clock_timestamp()
    THEN ceil(extract(epoch FROM b.deleting_until - clock_timestamp()) * 1000)::bigint
  END AS wait_ms`;

/**
 * Records that blobs are being stored now (the database's clock), in one transaction;
 * returns, for each blob a gc may still be deleting, the ms to wait before uploading it
 * unconditionally.
 */
export async function touchBlobs(
  pool: pg.Pool,
  sha256s: readonly string[],
): Promise<Map<string, number>> {
  const waits = new Map<string, number>();
  if (sha256s.length === 0) return waits;
  const shas = [...new Set(sha256s)].sort();
  const rows = await transaction(pool, (client) =>
    query<{ sha256: string; wait_ms: number | null }>(client, TOUCH_SQL, { shas }),
  );
  for (const row of rows) {
    if (row.wait_ms !== null && row.wait_ms > 0) waits.set(row.sha256, row.wait_ms);
  }
  return waits;
}
