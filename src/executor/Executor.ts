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
  /**
   * Live output as it comes, for terminals and log followers. A promise it returns paces
   * reading while the container runs (the job's writes wait, as a plain program's do
   * for a slow pipe); once the container has stopped, the bytes still in transit are
   * read without waiting for it, so the stored log is whole whatever the listener does.
   */
  onLog?: (stream: LogStream, chunk: Buffer) => void | Promise<void>;
}

/** Labels every runbox container carries, so a restarted runbox can find its own. */
export const LABELS = {
  instance: 'io.runbox.instance',
  /** The database the job is recorded in: recovery and cleanup go by this one. */
  database: 'io.runbox.database',
  job: 'io.runbox.job',
  attempt: 'io.runbox.attempt',
  contract: 'io.runbox.contract',
} as const;

/**
 * Whose containers these are. `database` is the queue database's own random id: every
 * process on one database shares it, no two databases do (unless a file is copied).
 * Recovery and cleanup touch only containers carrying it, so two installations on one
 * engine never remove each other's work. `instance` is a name for people and tools
 * (`docker ps --filter label=io.runbox.instance=NAME`): the operator's, or the
 * database id when none is configured.
 */
export interface ContainerIdentity {
  instance: string;
  database: string;
}

/**
 * Runs one job in one container and always resolves with a result (never rejects for
 * a job's own failure); the container and scratch files are gone when it resolves.
 */
export interface Executor {
  run(request: ExecuteRequest): Promise<JobResult>;
}
