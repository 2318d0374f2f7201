/**
 * PostgreSQL migration 2: completion webhooks and recurring schedules, the same rows and
 * rules as SQLite's migration 004 (read it for the why).
 *
 * Times here are bigint ms since the epoch, not timestamptz: the WebhookStore and
 * ScheduleStore interfaces pass them in as numbers, and a schedule's claim compares
 * next_fire_at for equality with the value read, which a float round trip through
 * to_timestamp could break. The trigger takes the delivery's created_at from the job's
 * updated_at, which is the database's now() of the transaction that ended the job.
 */
export default /* sql */ `
CREATE TABLE webhook_deliveries (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id            text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  url               text NOT NULL,
  event             text NOT NULL,
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          integer NOT NULL DEFAULT 0,
  created_at        bigint NOT NULL,
  next_attempt_at   bigint NOT NULL,
  lease_owner       text,
  lease_expires_at  bigint,
  last_status_code  integer,
  last_error        text,
  finished_at       bigint
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
  delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt      integer NOT NULL,
  started_at   bigint NOT NULL,
  duration_ms  integer NOT NULL,
  status_code  integer,
  error        text,
  PRIMARY KEY (delivery_id, attempt)
);

-- Runs inside the transaction that ends the job, whichever path ends it. OLD.status is
-- checked so a final job touched again never gets a second delivery. search_path is
-- pinned to the one the migration runs under (runbox's schema), so an UPDATE from a
-- session with another search_path (an operator's psql) still finds the table.
CREATE FUNCTION jobs_webhook_delivery() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
  at bigint;
BEGIN
  IF json_typeof(NEW.spec -> 'webhook_url') = 'string' THEN
    at := (extract(epoch FROM NEW.updated_at) * 1000)::bigint;
    INSERT INTO webhook_deliveries (job_id, url, event, created_at, next_attempt_at)
    VALUES (NEW.id, NEW.spec ->> 'webhook_url', 'job.' || NEW.status, at, at);
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER jobs_webhook_delivery AFTER UPDATE OF status ON jobs
FOR EACH ROW
WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled')
      AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
EXECUTE FUNCTION jobs_webhook_delivery();

CREATE TABLE schedules (
  name           text PRIMARY KEY,
  cron           text NOT NULL,
  timezone       text NOT NULL,
  catch_up       text NOT NULL CHECK (catch_up IN ('skip', 'once')),
  request        json NOT NULL,
  paused         boolean NOT NULL DEFAULT false,
  next_fire_at   bigint NOT NULL,
  last_fired_at  bigint,
  last_job_id    text,
  last_error     text,
  created_at     bigint NOT NULL,
  updated_at     bigint NOT NULL
);

CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE NOT paused;
`;
