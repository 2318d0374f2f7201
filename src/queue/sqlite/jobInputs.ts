import { listedFile } from '../listedFiles.js';
import { sql, type Db } from './db.js';

/*
 * A job's input files (spec.files) are stored in job_inputs, apart from its row
 * (migration 011): the row is rewritten at every claim, heartbeat and finish, and
 * SQLite rewrites a record whole, so megabytes of input in it were written again each
 * time. The row's spec keeps each file as a listing shows it (path, encoding, mode,
 * bytes), so a page of jobs never reads them. Reads that hand the spec out (a claim, an
 * adoption, a full read) put the files back; status changes and polls never touch them.
 */

const INSERT = 'INSERT INTO job_inputs (job_id, files) VALUES (:id, :files)';
const READ = 'SELECT files FROM job_inputs WHERE job_id = :id';

/** The spec as the jobs row stores it, and its files as job_inputs does (null: none). */
export function splitInputs(spec: unknown): { spec: string; files: string | null } {
  const files = (spec as { files?: unknown } | null)?.files;
  if (!Array.isArray(files) || files.length === 0)
    return { spec: JSON.stringify(spec), files: null };
  return {
    spec: JSON.stringify({
      ...(spec as Record<string, unknown>),
      files: (files as Parameters<typeof listedFile>[0][]).map(listedFile),
    }),
    files: JSON.stringify(files),
  };
}

export function storeInputs(db: Db, id: string, files: string): void {
  sql(db, INSERT).run({ id, files });
}

/** A stored spec with its input files back in place. */
export function specOf(db: Db, row: { id: string; spec: string; inputs_apart: number }): unknown {
  const spec = JSON.parse(row.spec) as Record<string, unknown>;
  if (row.inputs_apart !== 1) return spec;
  const stored = sql(db, READ).get({ id: row.id }) as { files: string } | undefined;
  // A row marked apart always has its inputs: both are written in one transaction and
  // leave together (ON DELETE CASCADE).
  spec.files = JSON.parse(stored!.files) as unknown;
  return spec;
}
