/**
 * Migration 10: secret values leave the jobs that were already final when the scrub
 * began.
 *
 * Migration 3's trigger scrubs a job's secret values as it becomes final, but a job
 * that was final before it (written by a schema 1 or 2 runbox, which had no scrub) kept
 * them in plain text after the upgrade, until retention deleted it: seen on a file from
 * the e86fd62 build opened by this one, against README's "gone from the database files
 * once the job is final". Same body as the trigger; queued and running jobs keep theirs
 * (a retry needs them). Rows whose values are all scrubbed already are not rewritten,
 * and json_valid keeps one unreadable spec from failing the whole upgrade. With
 * secure_delete on (openDatabase), the old bytes are overwritten in the file.
 */
export default /* sql */ `
UPDATE jobs SET spec = json_set(spec, '$.env', json((
    SELECT json_group_object(e.key, CASE
      WHEN e.key IN (SELECT s.value FROM json_each(jobs.spec, '$.secret_env') s) THEN '[secret]'
      ELSE e.value END)
    FROM json_each(jobs.spec, '$.env') e)))
WHERE status IN ('succeeded', 'failed', 'cancelled')
  AND instr(spec, '"secret_env"') > 0
  AND json_valid(spec)
  AND json_type(spec, '$.secret_env') = 'array'
  AND json_type(spec, '$.env') = 'object'
  AND EXISTS (
    SELECT 1 FROM json_each(jobs.spec, '$.env') e
    WHERE e.key IN (SELECT s.value FROM json_each(jobs.spec, '$.secret_env') s)
      AND e.value IS NOT '[secret]');
`;
