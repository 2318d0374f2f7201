import type { JobResult } from '../contract/resultSchema.js';
import type { ResolvedSpec } from '../spec/parseJobSpec.js';

export type LogStream = 'stdout' | 'stderr';

/** Why a run was aborted; the executor kills the container either way. */
export type AbortReason = 'cancel' | 'drain' | 'shutdown';

export interface ExecuteRequest {
  jobId: string;
  /** 1-based attempt number; goes on the container label. */
  attempt: number;
  spec: ResolvedSpec;
  /** Aborting kills the container (SIGTERM, grace, SIGKILL), keeps partial output. */
  signal?: AbortSignal;
  /** Live output as it comes, for terminals and log followers. */
  onLog?: (stream: LogStream, chunk: Buffer) => void;
}

/** Labels every runbox container carries, so a restarted runbox can find its own. */
export const LABELS = {
  instance: 'io.runbox.instance',
  job: 'io.runbox.job',
  attempt: 'io.runbox.attempt',
  contract: 'io.runbox.contract',
} as const;

/**
 * Runs one job in one container and always resolves with a result (never rejects for
 * a job's own failure); the container and scratch files are gone when it resolves.
 */
export interface Executor {
  run(request: ExecuteRequest): Promise<JobResult>;
}
