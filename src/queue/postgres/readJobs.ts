import { RunboxError } from '../../errors/index.js';
import type { JobPage, ListJobsArgs, OutcomeCount, RunningJob } from '../types.js';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../types.js';
import { query, type PgExecutor } from './db.js';
import { JOB_COLUMNS, rowToJob, type PgJobRow } from './rows.js';

export async function getJob(db: PgExecutor, id: string): Promise<JobRecord | null> {
  const [row] = await query<PgJobRow>(db, `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = :id`, {
    id,
  });
  return row ? rowToJob(row) : null;
}

export async function getJobStatus(db: PgExecutor, id: string): Promise<JobStatus | null> {
  const [row] = await query<{ status: JobStatus }>(
    db,
    'SELECT j.status FROM jobs j WHERE j.id = :id',
    { id },
  );
  return row?.status ?? null;
}

/**
 * Its size once decoded, from a stored input file `f` (json). base64 counts its
 * alphabet's characters (Buffer.from skips whitespace); utf8 decodes the JSON string
 * server-side.
 */
const FILE_BYTES = `
CASE WHEN f.value->>'encoding' = 'base64'
  THEN length(regexp_replace(f.value->>'content', '[^A-Za-z0-9+/]', '', 'g')) * 3 / 4
  ELSE octet_length(convert_to(f.value->'content' #>> '{}', 'UTF8'))
END`;

/**
 * PostgreSQL's json operators refuse a spec holding a \u0000 escape (a NUL in a utf8
 * input) anywhere: each such escape is swapped for \u0041, of the same size decoded,
 * which JSON.stringify (what stored the spec) never writes, and swapped back in
 * listJobs. Both swaps skip an escaped backslash followed by the letters.
 */
const NUL_ESCAPE = String.raw`(?<!\\)((?:\\\\)*)\\u0000`;
const STAND_IN = /(?<!\\)((?:\\\\)*)\\u0041/g;

/**
 * The spec as a page lists it (listedFiles.ts), built by the server, as text: a page of
 * jobs with large inputs was read whole into the node (up to 1,000 x 128 MiB) to be cut
 * down there.
 */
const LISTED_SPEC = `
CASE WHEN strpos(j.spec::text, '"files"') = 0 THEN j.spec::text ELSE (
  SELECT CASE WHEN json_typeof(d.doc->'files') = 'array' THEN (
    SELECT json_object_agg(e.key, CASE WHEN e.key = 'files' THEN (
        SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
            'path', f.value->'path', 'encoding', f.value->'encoding', 'mode', f.value->'mode',
            'bytes', ${FILE_BYTES})) ORDER BY f.n), '[]'::json)
        FROM json_array_elements(e.value) WITH ORDINALITY AS f(value, n))
      ELSE e.value END ORDER BY e.n)::text
    FROM json_each(d.doc) WITH ORDINALITY AS e(key, value, n))
  ELSE d.doc::text END
  FROM (SELECT CASE WHEN strpos(j.spec::text, '\\u0000') = 0 THEN j.spec
    ELSE regexp_replace(j.spec::text, '${NUL_ESCAPE}', '\\1\\\\u0041', 'g')::json END AS doc) d
) END AS spec`;

const LIST_COLUMNS = JOB_COLUMNS.replace('j.spec,', `${LISTED_SPEC},`);

const LIST_ALL = `
SELECT ${LIST_COLUMNS} FROM jobs j
WHERE (:cursor::text IS NULL OR j.id < :cursor::text)
ORDER BY j.id DESC LIMIT :limit`;

const LIST_STATUS = `
SELECT ${LIST_COLUMNS} FROM jobs j
WHERE j.status = :status AND (:cursor::text IS NULL OR j.id < :cursor::text)
ORDER BY j.id DESC LIMIT :limit`;

/** Newest first; the cursor is the last id of the page (ids sort by creation time). */
export async function listJobs(db: PgExecutor, args: ListJobsArgs = {}): Promise<JobPage> {
  const limit = Math.min(Math.max(Math.trunc(args.limit ?? 50), 1), 1000);
  if (args.status !== undefined && !JOB_STATUSES.includes(args.status)) {
    throw new RunboxError(
      'InvalidSpec',
      `status: "${String(args.status)}" must be one of ${JOB_STATUSES.join(', ')}`,
      { field: 'status' },
    );
  }
  const params = { cursor: args.cursor ?? null, limit: limit + 1 };
  const rows =
    args.status === undefined
      ? await query<PgJobRow>(db, LIST_ALL, params)
      : await query<PgJobRow>(db, LIST_STATUS, { ...params, status: args.status });
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    jobs: page.map((row) => {
      const text = row.spec as string;
      const spec = JSON.parse(
        text.includes('\\u0041') ? text.replace(STAND_IN, '$1\\u0000') : text,
      ) as unknown;
      return rowToJob({ ...row, spec });
    }),
    nextCursor: more ? page[page.length - 1]!.id : null,
  };
}

export async function countByStatus(db: PgExecutor): Promise<Record<JobStatus, number>> {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  const rows = await query<{ status: JobStatus; n: number }>(
    db,
    'SELECT j.status, count(*) AS n FROM jobs j GROUP BY j.status',
  );
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export async function finishedByOutcome(db: PgExecutor): Promise<OutcomeCount[]> {
  const rows = await query<{
    status: OutcomeCount['status'];
    error_type: string | null;
    n: number;
  }>(
    db,
    `SELECT j.status, j.error_type, count(*) AS n FROM jobs j
     WHERE j.status IN ('succeeded', 'failed', 'cancelled')
     GROUP BY j.status, j.error_type ORDER BY j.status, j.error_type`,
  );
  return rows.map((r) => ({ status: r.status, errorType: r.error_type, count: r.n }));
}

export async function runningJobs(db: PgExecutor): Promise<RunningJob[]> {
  const rows = await query<{
    id: string;
    attempts: number;
    lease_owner: string | null;
    lease_expires_at: number | null;
  }>(
    db,
    `SELECT j.id, j.attempts, j.lease_owner, j.lease_expires_at FROM jobs j
     WHERE j.status = 'running' ORDER BY j.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    attempt: r.attempts,
    owner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
  }));
}
