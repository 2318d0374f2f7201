/**
 * Migration 3: idempotency keys compare bodies, and secret values leave a finished job.
 *
 * request_hash: sha256 of the canonical submitted body (secret values left out, see
 * jobService), set when the job has an idempotency key. A key sent again with another
 * body is refused (409) instead of silently answering with the old job. Jobs stored
 * before this migration have none and are taken as matching.
 *
 * jobs_scrub_secrets: once a job is final nothing will run it again, so the values of
 * its secret_env names are replaced in the stored spec in the same transaction that
 * finishes it, whichever path finishes it (result, cancel, lease expiry, retention).
 * With secure_delete on (openDatabase), the old values are overwritten in the file.
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN request_hash TEXT;

CREATE TRIGGER jobs_scrub_secrets AFTER UPDATE OF status ON jobs
WHEN NEW.status IN ('succeeded', 'failed', 'cancelled')
  AND instr(NEW.spec, '"secret_env"') > 0
  AND json_type(NEW.spec, '$.secret_env') = 'array'
  AND json_type(NEW.spec, '$.env') = 'object'
BEGIN
  UPDATE jobs SET spec = json_set(spec, '$.env', json((
    SELECT json_group_object(e.key, CASE
      WHEN e.key IN (SELECT s.value FROM json_each(NEW.spec, '$.secret_env') s) THEN '[secret]'
      ELSE e.value END)
    FROM json_each(NEW.spec, '$.env') e)))
  WHERE id = NEW.id;
END;
`;
