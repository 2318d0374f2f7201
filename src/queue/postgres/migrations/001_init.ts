/**
 * PostgreSQL migration 1: the queue's tables, in a schema of their own (`runbox` unless
 * the config names another; it is the sessions' search_path, so the SQL names tables
 * unqualified) so they can share a database with other applications (graphile-worker
 * does the same with its own). A TS
 * module holding plain SQL, bundled into the single executable (never read from disk).
 * Never edit a released migration: add 002_*.ts and list it in index.ts.
 *
 * The same rows and states as the SQLite schema (src/queue/migrations), written the
 * PostgreSQL way:
 * - times are timestamptz, and every one of them is set from the database's now() by
 *   the operations, never from a node's clock (nodes' clocks disagree; the database's
 *   is the only one every node sees);
 * - the attempt token is gen_random_uuid() as text (core since PostgreSQL 13), compared
 *   as text so a malformed token from a client is simply stale, never a cast error;
 * - spec and result are json (the submitted text, key order kept), exit codes int[];
 * - `queue` names the queue a job waits in (named queues; 'default' unless the job
 *   names one); a node claims only from the queues it serves.
 * Invariant: lease_owner, lease_expires_at and attempt_token are set exactly while
 * status = 'running'.
 */
export default /* sql */ `
CREATE TABLE jobs (
  id                   text PRIMARY KEY,
  queue                text NOT NULL DEFAULT 'default',
  spec                 json NOT NULL,
  status               text NOT NULL
                       CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority             integer NOT NULL DEFAULT 0,
  attempts             integer NOT NULL DEFAULT 0,
  max_attempts         integer NOT NULL CHECK (max_attempts >= 1),
  retry_on_exit_codes  integer[] NOT NULL DEFAULT '{}',
  run_at               timestamptz NOT NULL,
  lease_owner          text,
  lease_expires_at     timestamptz,
  attempt_token        text,
  idempotency_key      text UNIQUE,
  request_hash         text,
  reserved_for         text,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  started_at           timestamptz,
  finished_at          timestamptz,
  result               json,
  error_type           text,
  error_message        text,
  contract_version     text,
  cancel_requested     boolean NOT NULL DEFAULT false
);

-- The claim: queued, unreserved, due, in the node's queues, ORDER BY priority, run_at, id.
-- Partial, so finished jobs (the bulk of the table) cost it nothing.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id)
  WHERE status = 'queued' AND reserved_for IS NULL;

-- runbox run's claim, and the reaper's look for reservations whose worker is gone.
CREATE INDEX jobs_reserved ON jobs (reserved_for, priority, run_at, id)
  WHERE status = 'queued' AND reserved_for IS NOT NULL;

-- The reaper: running jobs by lease expiry; a worker's own jobs (drain, lost worker).
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_owner ON jobs (lease_owner) WHERE status = 'running';

-- Listing by status, newest first, with a cursor on id.
CREATE INDEX jobs_status_id ON jobs (status, id);

-- Retention: finished jobs by finish time.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE workers (
  id                    text PRIMARY KEY,
  host                  text NOT NULL,
  pid                   integer NOT NULL,
  version               text NOT NULL,
  contract_name         text NOT NULL,
  contract_version      text NOT NULL,
  contract_fingerprint  text NOT NULL,
  -- The queues it serves with their slots ({"default": 4, "gpu": 1}), for GET /v1/queues.
  queues                json NOT NULL DEFAULT '{}',
  -- Where its node's API answers (for following the logs of a job it runs), if it has one.
  address               text,
  started_at            timestamptz NOT NULL,
  last_heartbeat_at     timestamptz NOT NULL,
  stopped_at            timestamptz
);

-- Blobs a job's results refer to (logs, outputs), for reference-counted blob GC.
CREATE TABLE job_blobs (
  job_id  text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  sha256  text NOT NULL,
  PRIMARY KEY (job_id, sha256)
);
CREATE INDEX job_blobs_sha256 ON job_blobs (sha256);

INSERT INTO meta (key, value)
  VALUES ('database_id', substr(replace(gen_random_uuid()::text, '-', ''), 1, 16))
  ON CONFLICT (key) DO NOTHING;

-- Once a job is final nothing runs it again, so the values of its secret_env names
-- leave the stored spec in the same statement that finishes it, whichever path
-- finishes it (result, cancel, lease expiry). BEFORE UPDATE rewrites the row being
-- written instead of updating it a second time.
CREATE FUNCTION scrub_secrets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb;
BEGIN
  IF strpos(NEW.spec::text, '"secret_env"') = 0 THEN
    RETURN NEW;
  END IF;
  -- jsonb refuses what json keeps as text (the escape of NUL, a lone surrogate): such a
  -- spec is scrubbed with those escapes made U+FFFD, rather than keep its secrets or
  -- fail the transaction that finishes the job.
  BEGIN
    doc := NEW.spec::jsonb;
  EXCEPTION WHEN OTHERS THEN
    doc := regexp_replace(NEW.spec::text, '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\ufffd', 'g')::jsonb;
  END;
  IF jsonb_typeof(doc -> 'secret_env') = 'array' AND jsonb_typeof(doc -> 'env') = 'object' THEN
    NEW.spec := jsonb_set(doc, '{env}', (
      SELECT coalesce(jsonb_object_agg(e.key, CASE
        WHEN doc -> 'secret_env' ? e.key THEN to_jsonb('[secret]'::text) ELSE e.value END), '{}'::jsonb)
      FROM jsonb_each(doc -> 'env') e))::json;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER jobs_scrub_secrets BEFORE UPDATE OF status ON jobs
  FOR EACH ROW
  WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled') AND OLD.status <> NEW.status)
  EXECUTE FUNCTION scrub_secrets();
`;
