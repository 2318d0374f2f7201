import type pg from 'pg';
import type { CondemnOptions } from '../../../storage/s3/BlobLedger.js';
import { execute, query, transaction } from '../db.js';
import { MS } from '../rows.js';

/*
 * FOR UPDATE: a row a put has touched since this statement's snapshot is re-read when
 * it is locked (READ COMMITTED re-checks the WHERE on the newest row), so a fresh
 * last_referenced_at or a cleared deadline drops it. SKIP LOCKED: a row a put is
 * touching right now is being re-referenced; leave it. Two gcs at once condemn
 * disjoint rows.
 */
export const CONDEMN_SQL = `
WITH candidates AS (
  SELECT b.sha256 FROM blobs b
  WHERE b.last_referenced_at < now() - :graceMs * ${MS}
    AND (b.deleting_until IS NULL OR b.deleting_until <= now())
    AND NOT EXISTS (SELECT 1 FROM job_blobs j WHERE j.sha256 = b.sha256)
    AND (:only::text[] IS NULL OR b.sha256 = ANY(:only::text[]))
  ORDER BY b.last_referenced_at
  LIMIT :limit
  FOR UPDATE SKIP LOCKED
)
UPDATE blobs b
SET condemned_at = now(), deleting_until = now() + :deleteWithinMs * ${MS}
FROM candidates c WHERE b.sha256 = c.sha256
RETURNING b.sha256`;

/**
 * gc, step 1: picks up to `limit` blobs no job refers to and nobody stored for
 * `graceMs`, and marks them as being deleted until now() + deleteWithinMs, in one
 * statement (a touch either comes before and saves the blob, or after and waits).
 */
export async function condemnBlobs(pool: pg.Pool, options: CondemnOptions): Promise<string[]> {
  const rows = await transaction(pool, (client) =>
    query<{ sha256: string }>(client, CONDEMN_SQL, {
      graceMs: options.graceMs,
      deleteWithinMs: options.deleteWithinMs,
      limit: options.limit,
      only: options.only ? [...options.only] : null,
    }),
  );
  return rows.map((r) => r.sha256);
}

// A row touched since it was condemned has condemned_at cleared (touchBlobs.ts): kept.
const FORGET = `
DELETE FROM blobs
WHERE sha256 = ANY(:shas::text[]) AND condemned_at IS NOT NULL`;

/**
 * gc, step 3: drops the rows of condemned blobs whose objects are deleted. A row
 * touched since it was condemned stays: its put uploads again after the deadline.
 */
export async function forgetBlobs(pool: pg.Pool, sha256s: readonly string[]): Promise<void> {
  if (sha256s.length === 0) return;
  const shas = [...new Set(sha256s)].sort();
  await transaction(pool, (client) => execute(client, FORGET, { shas }));
}
