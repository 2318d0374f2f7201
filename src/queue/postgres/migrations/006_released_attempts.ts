/**
 * PostgreSQL migration 6: attempts a worker gave back unfinished are counted apart (as
 * SQLite's 013_released_attempts, which says why). IF NOT EXISTS, as 004 is written, so a
 * database made to look older (blobLedger's upgrade case) runs it again harmlessly.
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS released_attempts integer NOT NULL DEFAULT 0
  CHECK (released_attempts >= 0);
`;
