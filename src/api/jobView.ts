import type { JobResult } from '../contract/resultSchema.js';
import { EXIT_CODES, type ErrorType } from '../errors/index.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** A job as the API serves it (snake_case JSON); secret env values are redacted. */
export interface JobView {
  id: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_at: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  idempotency_key: string | null;
  contract_version: string | null;
  error: { type: string; message: string; field: string | null } | null;
  result: JobResult | null;
  spec: Record<string, unknown>;
}

/** The process exit code a finished job maps to (documented in `runbox run --help`). */
export function exitCodeOf(job: Pick<JobView, 'status' | 'error' | 'result'>): number {
  if (job.status === 'succeeded') return 0;
  if (job.status === 'cancelled') return EXIT_CODES.Cancelled;
  const type = (job.error?.type ?? job.result?.error?.type ?? 'Internal') as ErrorType;
  if (type === 'NonZeroExit') return job.result?.exit_code ?? 1;
  return EXIT_CODES[type] ?? EXIT_CODES.Internal;
}
