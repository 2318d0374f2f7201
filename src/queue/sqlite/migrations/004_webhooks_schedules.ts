/**
 * Migration 4: completion webhooks and recurring schedules.
 *
 * webhook_deliveries: one row per job that reached a final state with a webhook_url in
 * its spec, written by the trigger below in the same transaction as the status change,
 * whichever path ends the job (result, cancel, lease expiry, orphaned reservation). A
 * kill -9 right after the finish commits therefore still leaves the delivery to make:
 * the delivery loop of any `runbox serve` on this database claims pending rows (a lease,
 * like a job's), POSTs, and records each attempt in webhook_attempts. Rows go away with
 * their job (retention).
 *
 * schedules: cron schedules and the submit body each fire enqueues. A due time is
 * claimed by moving next_fire_at with a conditional UPDATE (WHERE next_fire_at = the
 * value read) in the same transaction as the enqueue, so two processes on one database
 * never both fire it; the job's idempotency key (schedule:NAME:<due time>) says so twice.
 */
export default /* sql */ `
CREATE TABLE webhook_deliveries (
  id                INTEGER PRIMARY KEY,
  job_id            TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  url               TEXT NOT NULL,
  event             TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  next_attempt_at   INTEGER NOT NULL,
  lease_owner       TEXT,
  lease_expires_at  INTEGER,
  last_status_code  INTEGER,
  last_error        TEXT,
  finished_at       INTEGER
) STRICT;

-- The delivery loop's claim: pending rows by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
  delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt      INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL,
  status_code  INTEGER,
  error        TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT;

-- Cheap for jobs without a webhook: instr() on the spec text before any JSON parsing.
-- OLD.status is checked so a final job touched again never gets a second delivery.
CREATE TRIGGER jobs_webhook_delivery AFTER UPDATE OF status ON jobs
WHEN NEW.status IN ('succeeded', 'failed', 'cancelled')
  AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled')
  AND instr(NEW.spec, '"webhook_url"') > 0
  AND json_type(NEW.spec, '$.webhook_url') = 'text'
BEGIN
  INSERT INTO webhook_deliveries (job_id, url, event, created_at, next_attempt_at)
  VALUES (NEW.id, json_extract(NEW.spec, '$.webhook_url'), 'job.' || NEW.status,
          NEW.updated_at, NEW.updated_at);
END;

CREATE TABLE schedules (
  name           TEXT PRIMARY KEY,
  cron           TEXT NOT NULL,
  timezone       TEXT NOT NULL,
  catch_up       TEXT NOT NULL CHECK (catch_up IN ('skip', 'once')),
  request        TEXT NOT NULL,
  paused         INTEGER NOT NULL DEFAULT 0,
  next_fire_at   INTEGER NOT NULL,
  last_fired_at  INTEGER,
  last_job_id    TEXT,
  last_error     TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE paused = 0;
`;
