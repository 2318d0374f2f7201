import type { JobResult } from '../../src/contract/resultSchema.js';

/** A complete, contract-valid result for a job that printed three bytes. */
export function validResult(): JobResult {
  return {
    exit_code: 0,
    signal: null,
    timed_out: false,
    oom_killed: false,
    stdout: { bytes: 3, truncated: false, blob: null },
    stderr: { bytes: 0, truncated: false, blob: null },
    outputs: [],
    skipped_outputs: [],
    metrics: {
      stage_times: { image: 0, create: 0.1, inputs: 0, run: 0.2, outputs: 0, cleanup: 0 },
      total_seconds: 0.3,
      peak_memory_bytes: null,
      cpu_seconds: null,
    },
    sandbox: null,
    error: null,
  };
}
