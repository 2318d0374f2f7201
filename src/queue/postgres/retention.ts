import type { DeletedJobs } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { MS } from './rows.js';

// SKIP LOCKED: a row another node is touching is left for the next sweep. A job whose
// webhook is still being tried stays until its delivery ends, as on SQLite.
const DELETE_OLD = `
WITH old AS (
  SELECT j.id FROM jobs j
  WHERE j.finished_at IS NOT NULL AND j.finished_at < now() - :retentionMs * ${MS}
    AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries d WHERE d.job_id = j.id AND d.status = 'pending'
    )
  ORDER BY j.finished_at LIMIT :limit
  FOR UPDATE SKIP LOCKED
), blobs AS (
  SELECT DISTINCT b.sha256 FROM job_blobs b WHERE b.job_id IN (SELECT id FROM old)
), gone AS (
  DELETE FROM jobs j USING old WHERE j.id = old.id RETURNING j.id
)
SELECT (SELECT array_agg(id) FROM gone) AS ids, (SELECT array_agg(sha256) FROM blobs) AS shas`;

/**
 * Deletes up to `limit` jobs finished more than retentionMs ago (by the database's
 * clock); their job_blobs rows go with them (ON DELETE CASCADE). Returns the blobs no
 * remaining job refers to, read after the delete in the same transaction (the caller's).
 * The blob GC hazard of the SQLite version applies: see src/queue/retention.ts.
 */
export async function deleteFinishedBefore(
  db: PgExecutor,
  retentionMs: number,
  limit: number,
): Promise<DeletedJobs> {
  const [row] = await query<{ ids: string[] | null; shas: string[] | null }>(db, DELETE_OLD, {
    retentionMs,
    limit,
  });
  const jobIds = row?.ids ?? [];
  const blobs = row?.shas ?? [];
  if (jobIds.length === 0) return { jobIds: [], unreferencedBlobs: [] };
  const stillUsed = await referencedBlobs(db, blobs);
  return { jobIds, unreferencedBlobs: blobs.filter((sha) => !stillUsed.has(sha)) };
}

/** Which of the given blobs some job still refers to (the GC keeps those). */
export async function referencedBlobs(
  db: PgExecutor,
  shas: readonly string[],
): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const rows = await query<{ sha256: string }>(
    db,
    'SELECT DISTINCT b.sha256 FROM job_blobs b WHERE b.sha256 = ANY(:shas::text[])',
    { shas: [...shas] },
  );
  return new Set(rows.map((r) => r.sha256));
}
