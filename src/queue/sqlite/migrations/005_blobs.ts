/**
 * Migration 5: the blobs table behind gc of a shared blob store (storage/s3,
 * BlobLedger). Object times cannot say a blob is fresh (a put that finds the blob stored
 * does not rewrite it), so the database keeps, per blob, the last time any node relied
 * on it, by the database's clock.
 *
 * last_referenced_at: ms; set by every put of the blob before it looks for the object.
 * condemned_at / deleting_until: ms; set by gc when it decides to delete the object, which
 *   it may do only before deleting_until. A put that finds deleting_until in the future
 *   waits it out and uploads again. A row whose deadline passed is live again.
 * Which jobs refer to a blob stays in job_blobs; a blob with a job_blobs row is never
 * condemned.
 */
export default /* sql */ `
CREATE TABLE blobs (
  sha256              TEXT PRIMARY KEY,
  last_referenced_at  INTEGER NOT NULL,
  condemned_at        INTEGER,
  deleting_until      INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX blobs_last_referenced_at ON blobs (last_referenced_at);
`;
