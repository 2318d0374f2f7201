import type { CondemnOptions } from '../../../storage/s3/BlobLedger.js';
import { immediate, sql, type Db } from '../db.js';

const CANDIDATES = `
SELECT sha256 FROM blobs b
WHERE last_referenced_at < :cutoff
  AND (deleting_until IS NULL OR deleting_until <= :now)
  AND NOT EXISTS (SELECT 1 FROM job_blobs j WHERE j.sha256 = b.sha256)
  AND (:only IS NULL OR sha256 IN (SELECT value FROM json_each(:only)))
ORDER BY last_referenced_at
LIMIT :limit`;

const CONDEMN = `
UPDATE blobs SET condemned_at = :now, deleting_until = :until
WHERE sha256 IN (SELECT value FROM json_each(:shas))`;

/**
 * gc, step 1: picks up to `limit` blobs no job refers to and nobody stored for
 * `graceMs`, and marks them as being deleted until now + deleteWithinMs (one
 * transaction, so a touch either comes before and saves the blob, or after and waits).
 */
export function condemnBlobs(db: Db, options: CondemnOptions & { now: number }): string[] {
  const { now } = options;
  return immediate(db, () => {
    const shas = (
      sql(db, CANDIDATES).all({
        cutoff: now - options.graceMs,
        now,
        limit: options.limit,
        only: options.only ? JSON.stringify(options.only) : null,
      }) as Array<{ sha256: string }>
    ).map((r) => r.sha256);
    if (shas.length > 0) {
      sql(db, CONDEMN).run({
        now,
        until: now + options.deleteWithinMs,
        shas: JSON.stringify(shas),
      });
    }
    return shas;
  });
}

const FORGET = `
DELETE FROM blobs
WHERE sha256 IN (SELECT value FROM json_each(:shas))
  AND condemned_at IS NOT NULL`;

/**
 * gc, step 3: drops the rows of condemned blobs whose objects are deleted. A row
 * touched since it was condemned (touchBlobs cleared condemned_at) stays: its put uploads again after the deadline.
 */
export function forgetBlobs(db: Db, sha256s: readonly string[]): void {
  if (sha256s.length === 0) return;
  immediate(db, () => sql(db, FORGET).run({ shas: JSON.stringify(sha256s) }));
}
