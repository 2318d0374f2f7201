/**
 * PostgreSQL migration 4: less work per status change, the queue's hot path (issue 17).
 * Every claim and every finish changes `status`, which partial-index predicates and
 * jobs_status_id read, so each one is a non-HOT update: a new row version and an entry
 * in every index whose predicate the new version meets. Before this migration a claim
 * wrote five index entries (jobs_pkey, the idempotency key's, jobs_status_id, jobs_lease,
 * jobs_owner) and a finish four, and both triggers ran a PL/pgSQL function (or parsed
 * the spec) for every job that ended, though few jobs have a webhook or secrets.
 *
 * - jobs_lease and jobs_owner become one index, jobs_running (lease_owner), running jobs
 *   only: there are at most as many as all nodes' slots, so the reaper reads them all
 *   and checks lease_expires_at on the rows. A heartbeat then changes no indexed column
 *   (lease_expires_at, updated_at) and can be a HOT update.
 * - jobs_status_id leaves running jobs out: listing running jobs (few) reads
 *   jobs_running, so a claim writes three index entries (jobs_pkey, the key's,
 *   jobs_running) instead of five.
 * - has_webhook and has_secrets gate the triggers in their WHEN clause, so a job with
 *   neither ends without a function call. A BEFORE INSERT trigger sets them from the
 *   spec's text (a superset: the functions check again), whoever inserts, so the jobs an
 *   older node still running submits get them too; its function runs only for specs that
 *   name either key. Existing rows get theirs here, whatever their state (a queued or
 *   running job with a webhook still gets its delivery when it ends).
 * - The scrub of secret values becomes an AFTER trigger that updates the row a second
 *   time (secret jobs only). As a BEFORE trigger it cost every update of status a row
 *   lock (a WAL record) taken before its WHEN clause is even read: PostgreSQL locks the
 *   old row for any BEFORE ROW UPDATE trigger. A statement's RETURNING now shows the row
 *   before the scrub, so cancelJob reads the cancelled job again.
 * The idempotency key's unique index stays whole (a NULL entry at each status change of
 * a job without a key): an older node still running beside this build infers it in its
 * INSERT ... ON CONFLICT (idempotency_key), which a partial index would refuse.
 * Nothing else changes: no row is rewritten but those with a webhook or secrets. Each
 * step may run again (IF [NOT] EXISTS): a database whose version was set back by hand
 * (as a test does) upgrades all the same.
 */
export default /* sql */ `
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS has_webhook boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS has_secrets boolean NOT NULL DEFAULT false;

-- By the text, not json operators (they refuse some escapes json keeps, \\u0000): a
-- superset of the jobs that need either trigger, which is safe (the functions look again).
CREATE OR REPLACE FUNCTION jobs_flags() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.has_webhook := strpos(NEW.spec::text, '"webhook_url"') > 0;
  NEW.has_secrets := strpos(NEW.spec::text, '"secret_env"') > 0;
  RETURN NEW;
END $fn$;
DROP TRIGGER IF EXISTS jobs_flags ON jobs;
CREATE TRIGGER jobs_flags BEFORE INSERT ON jobs
  FOR EACH ROW
  WHEN (strpos(NEW.spec::text, '"webhook_url"') > 0 OR strpos(NEW.spec::text, '"secret_env"') > 0)
  EXECUTE FUNCTION jobs_flags();

UPDATE jobs
SET has_webhook = strpos(spec::text, '"webhook_url"') > 0,
    has_secrets = strpos(spec::text, '"secret_env"') > 0
WHERE strpos(spec::text, '"webhook_url"') > 0 OR strpos(spec::text, '"secret_env"') > 0;

-- The webhook function reads the spec as the scrub does: a spec jsonb refuses has those
-- escapes made U+FFFD first. It ran after the BEFORE scrub, which had cleaned such a
-- spec; the scrub now runs AFTER too, so it must cope with them itself.
CREATE OR REPLACE FUNCTION jobs_webhook_delivery() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
  at bigint;
  doc jsonb;
BEGIN
  BEGIN
    doc := NEW.spec::jsonb;
  EXCEPTION WHEN OTHERS THEN
    doc := regexp_replace(NEW.spec::text, '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\ufffd', 'g')::jsonb;
  END;
  IF jsonb_typeof(doc -> 'webhook_url') = 'string' THEN
    at := (extract(epoch FROM NEW.updated_at) * 1000)::bigint;
    INSERT INTO webhook_deliveries (job_id, url, event, created_at, next_attempt_at)
    VALUES (NEW.id, doc ->> 'webhook_url', 'job.' || NEW.status, at, at);
  END IF;
  RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS jobs_scrub_secrets ON jobs;
DROP FUNCTION IF EXISTS scrub_secrets();
CREATE OR REPLACE FUNCTION jobs_scrub_secrets() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
  doc jsonb;
BEGIN
  IF strpos(NEW.spec::text, '"secret_env"') = 0 THEN
    RETURN NULL;
  END IF;
  -- As migration 1's scrub_secrets: a spec jsonb refuses is scrubbed with those escapes
  -- made U+FFFD, rather than keep its secrets or fail the transaction ending the job.
  BEGIN
    doc := NEW.spec::jsonb;
  EXCEPTION WHEN OTHERS THEN
    doc := regexp_replace(NEW.spec::text, '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\ufffd', 'g')::jsonb;
  END;
  IF jsonb_typeof(doc -> 'secret_env') = 'array' AND jsonb_typeof(doc -> 'env') = 'object' THEN
    UPDATE jobs SET spec = jsonb_set(doc, '{env}', (
      SELECT coalesce(jsonb_object_agg(e.key, CASE
        WHEN doc -> 'secret_env' ? e.key THEN to_jsonb('[secret]'::text) ELSE e.value END), '{}'::jsonb)
      FROM jsonb_each(doc -> 'env') e))::json
    WHERE id = NEW.id;
  END IF;
  RETURN NULL;
END $fn$;
CREATE TRIGGER jobs_scrub_secrets AFTER UPDATE OF status ON jobs
  FOR EACH ROW
  WHEN (NEW.has_secrets AND NEW.status IN ('succeeded', 'failed', 'cancelled')
        AND OLD.status <> NEW.status)
  EXECUTE FUNCTION jobs_scrub_secrets();

DROP TRIGGER IF EXISTS jobs_webhook_delivery ON jobs;
CREATE TRIGGER jobs_webhook_delivery AFTER UPDATE OF status ON jobs
  FOR EACH ROW
  WHEN (NEW.has_webhook AND NEW.status IN ('succeeded', 'failed', 'cancelled')
        AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION jobs_webhook_delivery();

DROP INDEX IF EXISTS jobs_lease;
DROP INDEX IF EXISTS jobs_owner;
CREATE INDEX IF NOT EXISTS jobs_running ON jobs (lease_owner) WHERE status = 'running';


DROP INDEX IF EXISTS jobs_status_id;
CREATE INDEX jobs_status_id ON jobs (status, id) WHERE status <> 'running';
`;
