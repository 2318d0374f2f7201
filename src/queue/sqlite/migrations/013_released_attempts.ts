/**
 * Migration 13: attempts a worker gave back unfinished are counted apart.
 *
 * A drain gives a running (or claimed, not yet started) job back to the queue, and its
 * attempt number stays taken: it labels that attempt's container and logs. It was also
 * counted against max_attempts, so a `--max-attempts 1` job drained by a restart ran
 * again as attempt 2 of 1, and a job with attempts left lost one to an operator's stop.
 * `released_attempts` counts the attempts given back; retry decisions count
 * `attempts - released_attempts`. Rows from before it released none that are known.
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN released_attempts INTEGER NOT NULL DEFAULT 0
  CHECK (released_attempts >= 0);
`;
