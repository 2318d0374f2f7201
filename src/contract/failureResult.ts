import type { RunboxError } from '../errors/index.js';
import type { JobResult } from './resultSchema.js';

/**
 * A contract-valid result for a job that failed before or around the executor (bad
 * spec, contract violation, crash), so every job ends with one result of one shape.
 */
export function failureResult(error: RunboxError, base?: Partial<JobResult>): JobResult {
  const type = error.type as NonNullable<JobResult['error']>['type'];
  return {
    exit_code: null,
    signal: null,
    timed_out: false,
    oom_killed: false,
    stdout: { bytes: 0, truncated: false, blob: null },
    stderr: { bytes: 0, truncated: false, blob: null },
    outputs: [],
    skipped_outputs: [],
    metrics: {
      stage_times: { image: 0, create: 0, inputs: 0, run: 0, outputs: 0, cleanup: 0 },
      total_seconds: 0,
      peak_memory_bytes: null,
      cpu_seconds: null,
    },
    sandbox: null,
    ...base,
    error: { type, message: error.message, field: error.field },
  };
}

/**
 * A result that would be a success, for a job whose cancel was accepted before the
 * result was recorded: it exited on its own while its logs and outputs were being
 * collected. The cancel was answered as accepted, so the job ends cancelled; its exit
 * code, logs and outputs stay as collected (their blobs are referenced, never leaked).
 */
export function cancelledAfterExit(result: JobResult): JobResult {
  if (result.error !== null) return result;
  return {
    ...result,
    error: {
      type: 'Cancelled',
      message:
        `cancelled after it exited with code ${result.exit_code ?? '?'}, while its outputs ` +
        'were collected; its logs and outputs are kept',
      field: null,
    },
  };
}
