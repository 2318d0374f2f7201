/**
 * Migration 8: delivery ids are never used twice.
 *
 * A delivery's id is its Runbox-Delivery header, which receivers are told to drop
 * duplicates by. Under a plain INTEGER PRIMARY KEY SQLite hands out max(id) + 1, so once
 * retention deleted the newest deliveries (a quiet week deletes them all) the next job's
 * delivery got an id a receiver had already seen, and was dropped there as a duplicate.
 * AUTOINCREMENT never reuses an id; PostgreSQL's identity column never did.
 *
 * SQLite cannot add AUTOINCREMENT to a table, so both tables are copied into new ones.
 * The trigger that writes deliveries is dropped first and made again at the end (a
 * rename is refused while a trigger names a missing table), with 007's body unchanged;
 * the attempts go first so dropping the old deliveries cascades to nothing.
 */
export default /* sql */ `
DROP TRIGGER jobs_final_work;

CREATE TABLE webhook_deliveries_new (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO webhook_deliveries_new SELECT * FROM webhook_deliveries;

CREATE TABLE webhook_attempts_new (
  delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries_new (id) ON DELETE CASCADE,
  attempt      INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL,
  status_code  INTEGER,
  error        TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT;
INSERT INTO webhook_attempts_new SELECT * FROM webhook_attempts;

DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
ALTER TABLE webhook_attempts_new RENAME TO webhook_attempts;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);

CREATE TRIGGER jobs_final_work AFTER UPDATE OF status ON jobs
WHEN NEW.final_work <> 0 AND NEW.status IN ('succeeded', 'failed', 'cancelled')
BEGIN
  UPDATE jobs SET spec = json_set(spec, '$.env', json((
    SELECT json_group_object(e.key, CASE
      WHEN e.key IN (SELECT s.value FROM json_each(NEW.spec, '$.secret_env') s) THEN '[secret]'
      ELSE e.value END)
    FROM json_each(NEW.spec, '$.env') e)))
  WHERE id = NEW.id
    AND instr(NEW.spec, '"secret_env"') > 0
    AND json_type(NEW.spec, '$.secret_env') = 'array'
    AND json_type(NEW.spec, '$.env') = 'object';
  INSERT INTO webhook_deliveries (job_id, url, event, created_at, next_attempt_at)
  SELECT NEW.id, json_extract(NEW.spec, '$.webhook_url'), 'job.' || NEW.status,
         NEW.updated_at, NEW.updated_at
  WHERE OLD.status NOT IN ('succeeded', 'failed', 'cancelled')
    AND instr(NEW.spec, '"webhook_url"') > 0
    AND json_type(NEW.spec, '$.webhook_url') = 'text';
END;
`;
