/**
 * Migration 11: a job's input files live in a table of their own.
 *
 * `files` (the script's input files, base64 or text) was part of jobs.spec, the second
 * column of the row. SQLite rewrites a whole record on every UPDATE, overflow pages
 * included, and reads through a record's overflow chain to reach any column after a
 * large one: a job with 40 MB of `--file` input wrote ~53 MB to the WAL at its claim,
 * at every heartbeat and at its finish, and every status poll walked its ~13,000
 * overflow pages (`runbox run --file` of 40 MB took 12 s and 750 MB of memory; 100 MB did
 * not finish in 300 s). job_inputs is written once, at submit, and read at a claim,
 * an adoption and a full read of the job; the jobs row keeps a small spec and
 * `inputs_apart` = 1.
 *
 * Jobs stored before this keep their files inside the spec (inputs_apart = 0) and are
 * read as before. The job's row going takes its inputs (ON DELETE CASCADE, with
 * secure_delete on as for the rest).
 */
export default /* sql */ `
ALTER TABLE jobs ADD COLUMN inputs_apart INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_inputs (
  job_id  TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  files   TEXT NOT NULL
) STRICT;
`;
