/**
 * Migration 1: the initial schema. Plain SQL in a TS module so the single executable
 * carries it inside its bundle and never reads SQL from disk. Never edit a released
 * migration: add 002_*.ts and list it in index.ts.
 *
 * Times are integer milliseconds since the epoch. JSON columns hold text.
 * Invariant: lease_owner, lease_expires_at and attempt_token are set exactly while
 * status = 'running'.
 */
export default /* sql */ `
CREATE TABLE jobs (
  id                   TEXT PRIMARY KEY,
  spec                 TEXT NOT NULL,
  status               TEXT NOT NULL
                       CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority             INTEGER NOT NULL DEFAULT 0,
  attempts             INTEGER NOT NULL DEFAULT 0,
  max_attempts         INTEGER NOT NULL CHECK (max_attempts >= 1),
  retry_on_exit_codes  TEXT NOT NULL DEFAULT '[]',
  run_at               INTEGER NOT NULL,
  lease_owner          TEXT,
  lease_expires_at     INTEGER,
  attempt_token        TEXT,
  idempotency_key      TEXT UNIQUE,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  started_at           INTEGER,
  finished_at          INTEGER,
  result               TEXT,
  error_type           TEXT,
  error_message        TEXT,
  contract_version     TEXT,
  cancel_requested     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The claim query: status = 'queued' AND run_at <= now ORDER BY priority, run_at, id.
-- Partial: a row is in it only while queued, so finished jobs (the bulk of the table)
-- cost it nothing, and every claim walks it in order and stops after LIMIT rows,
-- filtering run_at inside the index. Measured at 20k jobs: ~15% more jobs/s than a
-- full (status, priority, run_at, id) index. The claim query names it (INDEXED BY):
-- without statistics the planner prefers jobs_status_id and sorts every queued row.
CREATE INDEX jobs_claim ON jobs (priority, run_at, id) WHERE status = 'queued';

-- The reaper: running jobs by lease expiry.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';

-- Listing by status, newest first, with a cursor on id.
CREATE INDEX jobs_status_id ON jobs (status, id);

-- Retention: finished jobs by finish time.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE workers (
  id                    TEXT PRIMARY KEY,
  host                  TEXT NOT NULL,
  pid                   INTEGER NOT NULL,
  version               TEXT NOT NULL,
  contract_name         TEXT NOT NULL,
  contract_version      TEXT NOT NULL,
  contract_fingerprint  TEXT NOT NULL,
  started_at            INTEGER NOT NULL,
  last_heartbeat_at     INTEGER NOT NULL,
  stopped_at            INTEGER
) STRICT;

-- Blobs a job's results refer to (logs, outputs), for reference-counted blob GC.
-- Rows accumulate over attempts and go away with the job.
CREATE TABLE job_blobs (
  job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  sha256  TEXT NOT NULL,
  PRIMARY KEY (job_id, sha256)
) STRICT, WITHOUT ROWID;

CREATE INDEX job_blobs_sha256 ON job_blobs (sha256);
`;
