/**
 * Migration 7: less SQLite work per status change, for the queue's hot path (a claim
 * and a finish per job; bench/NOTES.md "Queue on SQLite").
 *
 * jobs.final_work: 1 when the job's spec may need work as it ends (secret values to
 * scrub, a webhook to deliver). Set once at submit from the spec text (enqueueJobs), and
 * here for the jobs already stored. The two AFTER UPDATE OF status triggers of 003 and
 * 004 ran for every status change of every job; one trigger now does both, and only
 * for flagged rows (SQLite runs a trigger as a sub-program per row even when its WHEN
 * clause is false, so two triggers cost two calls per finish). The flag is a cheap
 * superset: the trigger still checks the spec's JSON before doing anything, exactly as
 * the two triggers did.
 *
 * jobs_lease goes: every claim inserted into it and every finish deleted from it, while
 * the reaper, its only reader, finds the same rows through jobs_status_id (status =
 * 'running': as many rows as jobs held by workers, hundreds, not the table).
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN final_work INTEGER NOT NULL DEFAULT 0;

UPDATE jobs SET final_work = 1
WHERE instr(spec, '"secret_env"') > 0 OR instr(spec, '"webhook_url"') > 0;

DROP TRIGGER jobs_scrub_secrets;
DROP TRIGGER jobs_webhook_delivery;

-- The bodies of 003's jobs_scrub_secrets and 004's jobs_webhook_delivery, each under
-- its own conditions (OLD.status is checked for the delivery only: a final job touched
-- again never gets a second delivery, while scrubbing again is harmless).
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

DROP INDEX jobs_lease;
`;
