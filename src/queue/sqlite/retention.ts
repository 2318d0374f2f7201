import { immediate, sql, type Db } from './db.js';
import type { DeletedJobs } from '../types.js';

export type { DeletedJobs };

// A job whose webhook is still being tried stays until its delivery ends (delivered, or
// failed once webhooks.retryForMs has passed): deleting it deleted the delivery, so a
// jobRetentionMs shorter than retryForMs dropped deliveries without a word.
const OLD = `
SELECT id FROM jobs j
WHERE finished_at IS NOT NULL AND finished_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.job_id = j.id AND d.status = 'pending')
ORDER BY finished_at LIMIT :limit`;

/**
 * Deletes finished jobs older than cutoff, at most `limit` per call (one short
 * transaction each; call again while jobIds.length === limit). Their job_blobs rows go
 * with them (ON DELETE CASCADE).
 *
 * Hazard for the blob GC: a blob that is unreferenced here may be about to be referred
 * to by a job still running (content addressing dedups identical outputs, and a result
 * is recorded only when its job finishes). The GC must not delete blobs written
 * recently (e.g. newer than the longest job timeout), only old unreferenced ones.
 */
export function deleteFinishedBefore(db: Db, cutoff: number, limit = 1000): DeletedJobs {
  return immediate(db, () => {
    const ids = (sql(db, OLD).all({ cutoff, limit }) as Array<{ id: string }>).map((r) => r.id);
    if (ids.length === 0) return { jobIds: [], unreferencedBlobs: [] };
    const json = JSON.stringify(ids);
    const blobs = (
      sql(
        db,
        'SELECT DISTINCT sha256 FROM job_blobs WHERE job_id IN (SELECT value FROM json_each(:ids))',
      ).all({ ids: json }) as Array<{ sha256: string }>
    ).map((r) => r.sha256);
    sql(db, 'DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))').run({ ids: json });
    const stillUsed = referencedBlobs(db, blobs);
    return { jobIds: ids, unreferencedBlobs: blobs.filter((sha) => !stillUsed.has(sha)) };
  });
}

/** Which of the given blobs some job still refers to (the GC keeps those). */
export function referencedBlobs(db: Db, shas: readonly string[]): Set<string> {
  return new Set(
    (
      sql(
        db,
        'SELECT DISTINCT sha256 FROM job_blobs WHERE sha256 IN (SELECT value FROM json_each(:shas))',
      ).all({ shas: JSON.stringify(shas) }) as Array<{ sha256: string }>
    ).map((r) => r.sha256),
  );
}
