import { immediate, sql, type Db } from '../db.js';

const UPSERT = `
INSERT INTO blobs (sha256, last_referenced_at) VALUES (:sha256, :now)
ON CONFLICT (sha256) DO UPDATE SET last_referenced_at = max(last_referenced_at, :now),
  condemned_at = NULL
RETURNING deleting_until`;

/**
 * Clearing condemned_at tells forget() the blob was touched since gc condemned it (the
 * same rule as PostgreSQL's, where comparing times would not do).
 *
 * Records that blobs are being stored at `now`, in one transaction; returns, for each
 * blob a gc may still be deleting, the ms to wait before uploading it unconditionally.
 */
export function touchBlobs(db: Db, sha256s: readonly string[], now: number): Map<string, number> {
  return immediate(db, () => {
    const waits = new Map<string, number>();
    for (const sha256 of new Set(sha256s)) {
      const row = sql(db, UPSERT).get({ sha256, now }) as { deleting_until: number | null };
      if (row.deleting_until !== null && row.deleting_until > now) {
        waits.set(sha256, row.deleting_until - now);
      }
    }
    return waits;
  });
}
