import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ErrorTypeSchema } from '../contract/resultSchema.js';
import type {
  JobResult,
  LogInfo,
  OutputEntry,
  SandboxApplied,
  SkippedOutput,
  StageTimes,
} from '../contract/resultSchema.js';
import { RunboxError, toRunboxError } from '../errors/index.js';
import type { StopReason } from './waitForExit.js';

type Stage = keyof StageTimes;
type ResultErrorType = NonNullable<JobResult['error']>['type'];

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name]),
);

/** 'SIGKILL' for 137 when runbox or the OOM killer stopped the job; null otherwise. */
export function signalOf(exitCode: number | null, killed: boolean): string | null {
  if (!killed || exitCode === null || exitCode <= 128) return null;
  return SIGNAL_NAMES.get(exitCode - 128) ?? `SIG${exitCode - 128}`;
}

/** Error types a result may carry (from the contract); any other is reported as Internal. */
const RESULT_ERROR_TYPES = new Set<string>(
  ErrorTypeSchema.anyOf.map((literal: { const: string }) => literal.const),
);

const emptyLog = (): LogInfo => ({ bytes: 0, truncated: false, blob: null });

/**
 * Everything one attempt learns, gathered stage by stage, and turned into one result
 * at the end. It decides the error by precedence: a runbox/engine failure, then an
 * abort (cancel, drain), timeout, OOM kill, the job's non-zero exit, and last an
 * output limit; the first that applies is the result's error.
 */
export class AttemptRecord {
  private readonly begun = performance.now();
  readonly stages: StageTimes = { image: 0, create: 0, inputs: 0, run: 0, outputs: 0, cleanup: 0 };
  exitCode: number | null = null;
  stoppedBy: StopReason | null = null;
  oomKilled = false;
  stdout: LogInfo = emptyLog();
  stderr: LogInfo = emptyLog();
  outputs: OutputEntry[] = [];
  skipped: SkippedOutput[] = [];
  outputError: RunboxError | null = null;
  peakMemoryBytes: number | null = null;
  cpuSeconds: number | null = null;
  /** ID of the image the container was created from, once known. */
  imageDigest: string | null = null;
  private failure: RunboxError | null = null;

  constructor(
    readonly sandbox: SandboxApplied | null,
    private readonly timeoutMs: number,
  ) {}

  /** Runs fn, adding its wall time to the stage (also when it throws). */
  async time<T>(stage: Stage, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.stages[stage] += (performance.now() - t) / 1000;
    }
  }

  /**
   * Adds time the job ran before this process took it over (a re-attach after a crash):
   * the container's own start time says how long it has run, and without it a 20 s job
   * re-attached at its end reported a run stage and total_seconds of a few milliseconds.
   */
  ranBefore(seconds: number): void {
    if (!(seconds > 0)) return;
    this.stages.run += seconds;
    this.earlierSeconds += seconds;
  }

  private earlierSeconds = 0;

  /** Records an infrastructure failure; the first one wins. */
  fail(error: unknown): void {
    this.failure ??= toRunboxError(error);
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  private error(): JobResult['error'] {
    const as = (type: ResultErrorType, message: string, field: string | null = null) => ({
      type,
      message,
      field,
    });
    if (this.failure) {
      const { type, message, field } = this.failure;
      return RESULT_ERROR_TYPES.has(type)
        ? as(type as ResultErrorType, message, field)
        : as('Internal', `${type}: ${message}`, field);
    }
    switch (this.stoppedBy) {
      case 'cancel':
        return as('Cancelled', 'cancelled while running; output so far is kept');
      case 'drain':
      case 'shutdown':
      case 'lost':
        return as('WorkerLost', `stopped by the worker (${this.stoppedBy}) before it finished`);
      case 'output-limit':
        if (this.outputError) {
          return as('OutputLimitExceeded', this.outputError.message, this.outputError.field);
        }
        break;
      case 'timeout':
        return as(
          'Timeout',
          `killed after its timeout of ${this.timeoutMs / 1000} s; output so far is kept`,
          'timeout_seconds',
        );
      default:
        break;
    }
    // The engine's flag says a process of the job was killed for memory, not which: a
    // script that outlived its child's kill and exited 0 was failed OOMKilled (exit 137
    // from `submit --wait`) though it had finished. oom_killed still records it.
    if (this.oomKilled && this.exitCode !== 0) {
      const limit = this.sandbox ? ` of ${this.sandbox.memory_bytes} bytes` : '';
      return as('OOMKilled', `killed for exceeding its memory limit${limit}`, 'limits.memory');
    }
    if (this.exitCode !== null && this.exitCode !== 0) {
      return as('NonZeroExit', `exited with code ${this.exitCode}`);
    }
    if (this.outputError) {
      return as(
        this.outputError.type as ResultErrorType,
        this.outputError.message,
        this.outputError.field,
      );
    }
    return null;
  }

  toResult(): JobResult {
    const killed = this.stoppedBy !== null || this.oomKilled;
    const round = (s: number) => Math.round(s * 1e6) / 1e6;
    const stageTimes = Object.fromEntries(
      Object.entries(this.stages).map(([k, v]) => [k, round(v)]),
    ) as StageTimes;
    return {
      exit_code: this.exitCode,
      signal: signalOf(this.exitCode, killed),
      timed_out: this.stoppedBy === 'timeout',
      oom_killed: this.oomKilled,
      stdout: this.stdout,
      stderr: this.stderr,
      outputs: this.outputs,
      skipped_outputs: this.skipped,
      metrics: {
        stage_times: stageTimes,
        total_seconds: round((performance.now() - this.begun) / 1000 + this.earlierSeconds),
        peak_memory_bytes: this.peakMemoryBytes,
        cpu_seconds: this.cpuSeconds === null ? null : round(this.cpuSeconds),
      },
      sandbox: this.sandbox,
      error: this.error(),
      ...(this.imageDigest ? { image_digest: this.imageDigest } : {}),
    };
  }
}
