import type { ContractDescriptor } from '../contract/contract.js';
import type { JobResult } from '../contract/resultSchema.js';
import type { ExecuteRequest } from '../executor/Executor.js';

/** A job this worker holds: the token proves it is still the live attempt. */
export interface HeldJob {
  id: string;
  attempt: number;
  token: string;
  /** The spec as submitted; parsed again here against this process's config. */
  spec: unknown;
  /** When it became due (its queue wait starts here); absent for adopted jobs. */
  runAt?: number;
}

export interface WorkerRegistration {
  id: string;
  host: string;
  pid: number;
  version: string;
  contract: ContractDescriptor;
}

/** What the worker pool needs from the queue. The queue's facade implements it. */
export interface WorkerQueue {
  registerWorker(worker: WorkerRegistration): void;
  heartbeatWorker(workerId: string): void;
  stopWorker(workerId: string): void;
  isWorkerAlive(workerId: string | null): boolean;
  listWorkers(): Array<{ id: string; host: string; pid: number; alive: boolean }>;
  /** Claims up to limit due jobs; `reserved`: only jobs reserved for this worker. */
  claim(workerId: string, limit: number, reserved?: boolean): HeldJob[];
  /** Renews leases; tells which jobs were lost and which have a cancel request. */
  heartbeat(
    workerId: string,
    jobs: Array<{ id: string; token: string }>,
  ): { lost: string[]; cancelRequested: string[] };
  finish(
    items: Array<{ id: string; token: string; result: JobResult }>,
  ): Promise<Array<'recorded' | 'stale'>>;
  /**
   * Records results and claims up to `claim.limit` more jobs in one commit (the pool's
   * hot path). Optional: without it the pool records with finish() and claims on its own.
   */
  finishAndClaim?(
    items: Array<{ id: string; token: string; result: JobResult }>,
    claim: { workerId: string; limit: number; reserved?: boolean | undefined },
  ): Promise<{ outcomes: Array<'recorded' | 'stale'>; claimed: HeldJob[] }>;
  /** Gives a job back to the queue (drain, or a re-attach we cannot do); the ids released. */
  release(jobs: Array<{ id: string; token: string }>, reason: string): string[] | void;
  /** A job's state now (the lifecycle log tells a retry from a final failure by it). */
  get?(id: string): { status: string; runAt: number } | null;
  /** Takes over a running job whose owner is dead; null when it is not ours to take. */
  adopt(jobId: string, attempt: number, workerId: string): HeldJob | null;
  requeueOwnedByDeadWorkers(isDead: (workerId: string) => boolean): number;
  /** Reaps expired leases, except those of the jobs in `keep` (held by the caller). */
  reap(keep?: ReadonlySet<string>): number;
  /** The reaper, naming the jobs it touched (for lifecycle lines). */
  reapWithOutcome?(keep?: ReadonlySet<string>): {
    requeued: string[];
    failed: string[];
    cancelled: string[];
  };
  runningJobs(): Array<{ id: string; attempt: number; owner: string | null }>;
}

/** A container a previous runbox process left behind. */
export interface FoundContainer {
  containerId: string;
  jobId: string;
  attempt: number;
  running: boolean;
}

/** What the worker pool needs from the executor beyond run(). */
export interface RecoverableExecutor {
  run(request: ExecuteRequest): Promise<JobResult>;
  findContainers(): Promise<FoundContainer[]>;
  reattach(containerId: string, request: ExecuteRequest): Promise<JobResult>;
  removeContainer(containerId: string): Promise<void>;
  /** Removes scratch folders of no live attempt and no container; returns their names. */
  sweepScratch?(isLive: (jobId: string, attempt: number) => boolean): Promise<string[]>;
}
