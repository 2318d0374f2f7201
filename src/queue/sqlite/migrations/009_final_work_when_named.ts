/**
 * Migration 9: the final-work trigger runs only for statements that ask for it.
 *
 * SQLite compiles an AFTER UPDATE OF status trigger into every statement that sets
 * status, and runs it as a sub-program for each row, even when its WHEN clause is
 * false: on the queue's hot path (a claim and a success per job, almost none with final
 * work) that was ~4 us of ~20 us of SQL per job (bench/NOTES.md "Session 10"). A trigger
 * UPDATE OF final_work is compiled only into statements that name final_work in their
 * SET. So every statement that can end a job sets `final_work = final_work` (a no-op
 * write that names the column), and the one hot statement that does not, a success, is
 * limited to rows with final_work = 0 (finishJobs falls back to the naming one for the
 * others). A unit test (queue.migration009) reads every statement in src/queue/sqlite
 * and fails if one that ends a job does neither.
 *
 * The body is 008's, unchanged.
 */
export default /* sql */ `
DROP TRIGGER jobs_final_work;

CREATE TRIGGER jobs_final_work AFTER UPDATE OF final_work ON jobs
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
