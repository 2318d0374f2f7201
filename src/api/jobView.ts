import type { Static } from '@sinclair/typebox';
import { EXIT_CODES, type ErrorType } from '../errors/index.js';
import type { JobStatusSchema, JobViewSchema, ListedJobSchema } from './schemas.js';

export type JobStatus = Static<typeof JobStatusSchema>;
/** The queue's one definition, for the API's and the CLI's callers. */
export { FINAL_STATUSES } from '../queue/types.js';

/** The most jobs one page of GET /v1/jobs holds (`limit`), for the route and `runbox ls`. */
export const MAX_JOB_PAGE = 1000;

/** A job as the API serves it (snake_case JSON); secret env values are redacted. */
export type JobView = Static<typeof JobViewSchema>;

/** A job in a page of GET /v1/jobs: input files without their content. */
export type ListedJobView = Static<typeof ListedJobSchema>;

/** The process exit code a finished job maps to (documented in `runbox run --help`). */
export function exitCodeOf(job: Pick<JobView, 'status' | 'error' | 'result'>): number {
  if (job.status === 'succeeded') return 0;
  if (job.status === 'cancelled') return EXIT_CODES.Cancelled;
  const type = (job.error?.type ?? job.result?.error?.type ?? 'Internal') as ErrorType;
  if (type === 'NonZeroExit') return job.result?.exit_code ?? 1;
  return EXIT_CODES[type] ?? EXIT_CODES.Internal;
}
