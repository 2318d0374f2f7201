import type { JobResult } from '../contract/resultSchema.js';

/**
 * What happens to a job after an attempt. Pure: the queue's transactions call it with
 * what they read, tests call it directly.
 */

/** Failures of the machinery, not the script: retried by default while attempts remain. */
export const INFRASTRUCTURE_ERRORS: ReadonlySet<string> = new Set([
  'WorkerLost',
  'ImageUnavailable',
  'EngineUnavailable',
  'Internal',
]);

export interface RetrySettings {
  /** First retry's delay ceiling. @defaultValue config.retry.baseMs (1000) */
  baseMs: number;
  /** No retry waits longer. @defaultValue config.retry.capMs (60000) */
  capMs: number;
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
 * Full jitter spreads a burst of failures (an engine restart fails every running job)
 * instead of retrying them in lockstep. `attempt` is the attempt that just failed (1-based).
 */
export function backoffMs(
  attempt: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(settings.capMs, settings.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

export type Decision =
  | { kind: 'succeeded' }
  | { kind: 'failed' }
  | { kind: 'cancelled' }
  | { kind: 'retry'; delayMs: number };

export interface DecisionInput {
  /** Error type of the attempt, or null when it succeeded. */
  errorType: string | null;
  /** The field the error names, if any. @defaultValue null */
  errorField?: string | null;
  /** Exit code, for NonZeroExit. */
  exitCode: number | null;
  /** Attempts made, including this one. */
  attempts: number;
  /** Of those, attempts a worker gave back unfinished (a drain): they do not count. */
  releasedAttempts: number;
  maxAttempts: number;
  retryOnExitCodes: readonly number[];
  cancelRequested: boolean;
}

/**
 * Infrastructure failures no retry can mend: the image is absent and the job's own
 * pull policy ("never") forbids fetching it (imagePolicy.ts names that field).
 */
function cannotSucceed(errorType: string, errorField: string | null | undefined): boolean {
  return errorType === 'ImageUnavailable' && errorField === 'pull_policy';
}

/**
 * - success is success; a success whose cancel was accepted before it was recorded
 *   reaches here already turned into Cancelled (cancelledAfterExit: by the pool, and by
 *   the SQLite queue at the commit);
 * - a failure of a job someone asked to cancel ends cancelled, never retried;
 * - infrastructure errors (but those that cannot succeed), and NonZeroExit with an
 *   exit code the job listed in retry_on_exit_codes, retry while the attempts that
 *   count (those not given back by a drain) are fewer than max_attempts;
 * - everything else fails.
 */
export function decide(
  input: DecisionInput,
  settings: RetrySettings,
  random: () => number = Math.random,
): Decision {
  if (input.errorType === null) return { kind: 'succeeded' };
  if (input.cancelRequested) return { kind: 'cancelled' };
  if (input.errorType === 'Cancelled') return { kind: 'cancelled' };
  const retryable =
    (INFRASTRUCTURE_ERRORS.has(input.errorType) &&
      !cannotSucceed(input.errorType, input.errorField)) ||
    (input.errorType === 'NonZeroExit' &&
      input.exitCode !== null &&
      input.retryOnExitCodes.includes(input.exitCode));
  if (retryable && counted(input) < input.maxAttempts) {
    return { kind: 'retry', delayMs: backoffMs(counted(input), settings, random) };
  }
  return { kind: 'failed' };
}

/**
 * The job's error columns for an attempt's result and its decision. A job ending
 * cancelled says Cancelled whatever its last attempt's own error was (it failed on its
 * own while its cancel was pending, and was not retried for it): clients read the job's
 * error type (`runbox` exits 130 for Cancelled), and a cancelled job that said
 * NonZeroExit read as failed. The attempt's error stays in its result.
 */
export function jobError(
  result: JobResult,
  decision: Decision,
): { type: string | null; message: string | null } {
  const error = result.error;
  if (error === null) return { type: null, message: null };
  if (decision.kind !== 'cancelled' || error.type === 'Cancelled') {
    return { type: error.type, message: error.message };
  }
  return {
    type: 'Cancelled',
    message: `cancelled; its last attempt had ended on its own (${error.type}: ${error.message}) and was not retried`,
  };
}

export function decideForResult(
  result: JobResult,
  job: Omit<DecisionInput, 'errorType' | 'errorField' | 'exitCode'>,
  settings: RetrySettings,
  random: () => number = Math.random,
): Decision {
  return decide(
    {
      ...job,
      errorType: result.error?.type ?? null,
      errorField: result.error?.field ?? null,
      exitCode: result.exit_code,
    },
    settings,
    random,
  );
}

/**
 * Attempts that count against max_attempts. One a worker gave back unfinished (drained
 * before it started, or stopped by a drain) does not: the job did not fail, and an
 * operator's restart must not spend a `--max-attempts 1` job's only attempt. It keeps its
 * number, which labels its container and its logs and is never reused.
 */
export function counted(job: { attempts: number; releasedAttempts: number }): number {
  return job.attempts - job.releasedAttempts;
}

/** A running job whose worker vanished (lease expired, worker dead), as the reaper reads it. */
export interface LostJob {
  attempts: number;
  releasedAttempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  leaseOwner: string | null;
}

/**
 * What the reaper does with a lost job, and the error message it records: a cancel
 * request ends it cancelled; attempts left requeue it as WorkerLost after backoff;
 * otherwise it fails as WorkerLost. `why`: 'lease expired', 'worker is gone'.
 */
export function decideForLost(
  job: LostJob,
  why: string,
  settings: RetrySettings,
  random: () => number = Math.random,
): { decision: Decision; errorType: 'Cancelled' | 'WorkerLost'; errorMessage: string } {
  const attempt =
    job.releasedAttempts === 0
      ? `attempt ${job.attempts} of ${job.maxAttempts}`
      : `attempt ${job.attempts}, ${counted(job)} of ${job.maxAttempts} counted (${job.releasedAttempts} given back by a drain)`;
  const message = `${why} (worker ${job.leaseOwner ?? '?'}, ${attempt})`;
  if (job.cancelRequested) {
    return {
      decision: { kind: 'cancelled' },
      errorType: 'Cancelled',
      errorMessage: `cancel requested; ${message}`,
    };
  }
  if (counted(job) < job.maxAttempts) {
    return {
      decision: { kind: 'retry', delayMs: backoffMs(counted(job), settings, random) },
      errorType: 'WorkerLost',
      errorMessage: message,
    };
  }
  return { decision: { kind: 'failed' }, errorType: 'WorkerLost', errorMessage: message };
}
