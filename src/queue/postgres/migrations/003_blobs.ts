/**
 * PostgreSQL migration 3: the blobs table behind gc of a shared blob store (storage/s3,
 * BlobLedger), the same rows as SQLite's migration 005. Object times cannot say a blob
 * is fresh (a put that finds the blob stored does not rewrite it), so the database
 * keeps, per blob, the last time any node relied on it, by the database's clock.
 *
 * last_referenced_at: set from now() by every put of the blob before it looks for the
 *   object.
 * condemned_at / deleting_until: set by gc when it decides to delete the object, which it
 *   may do only before deleting_until. A put that finds deleting_until in the future
 *   clears condemned_at (so gc's forget keeps the row), waits the deadline out and
 *   uploads again. A row whose deadline passed is live again.
 * Which jobs refer to a blob stays in job_blobs; a blob with a job_blobs row is never
 * condemned.
 *
 * Blobs jobs already refer to get a row now, so that once retention deletes those jobs
 * gc can collect them. Objects in the bucket that no job refers to today and that no
 * node stores again get no row and are never deleted (safe, not lossy).
 */
export default /* sql */ `
CREATE TABLE blobs (
  sha256              text PRIMARY KEY,
  last_referenced_at  timestamptz NOT NULL,
  condemned_at        timestamptz,
  deleting_until      timestamptz
);

CREATE INDEX blobs_last_referenced_at ON blobs (last_referenced_at);

INSERT INTO blobs (sha256, last_referenced_at)
  SELECT DISTINCT sha256, now() FROM job_blobs
  ON CONFLICT (sha256) DO NOTHING;
`;
