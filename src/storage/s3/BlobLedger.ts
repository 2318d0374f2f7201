/**
 * What the S3 store needs of the queue database so that garbage collection never
 * deletes a blob another node has just stored or is about to reuse. S3 has no
 * compare-and-delete and an object's LastModified is not refreshed when a put finds it
 * already stored, so neither object times nor a HEAD can tell gc a blob is fresh: the
 * database can, with its own clock (never a node's).
 *
 * The protocol (one row per blob: last_referenced_at, deleting_until):
 * - put: touch() the row BEFORE looking for the object. A row gc is deleting tells the
 *   put to wait until gc's deadline has passed and then upload without trusting HEAD.
 * - gc: condemn() marks rows unreferenced by any job and untouched for the grace period
 *   as deleting until now + deleteWithinMs, in one transaction; gc deletes those objects
 *   only while its deadline has not passed; then forget() drops the rows still condemned.
 *   A row touched meanwhile is kept (its put re-uploads after the deadline).
 * So an object is deleted only inside a window every put of that blob knows about.
 */
export interface CondemnOptions {
  graceMs: number;
  deleteWithinMs: number;
  limit: number;
  /** Only these blobs (BlobStore.removeIfIdle asks about one). */
  only?: readonly string[];
}

export interface BlobLedger {
  /**
   * Records that blobs are being stored now (database time). For each blob a gc is
   * deleting, how long the caller must wait before uploading it again unconditionally;
   * blobs missing from the result need no wait.
   */
  touch(sha256s: readonly string[]): Promise<Map<string, number>>;
  /**
   * Marks up to `limit` blobs that no job refers to and nobody touched for `graceMs` as
   * being deleted for the next `deleteWithinMs`, and returns them.
   */
  condemn(options: CondemnOptions): Promise<string[]>;
  /** Drops the rows of condemned blobs whose objects are gone, unless touched since. */
  forget(sha256s: readonly string[]): Promise<void>;
}
