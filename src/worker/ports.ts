import type { JobResult } from '../contract/resultSchema.js';
import type { ExecuteRequest } from '../executor/Executor.js';
import type {
  JobStore,
  QueueMaintenance,
  WorkerRegistry,
  WorkQueue,
} from '../queue/QueueBackend.js';

/**
 * What the worker pool needs from the queue: the worker's audiences of any backend, the
 * reaper, and get (the lifecycle log tells a retry from a final failure by the row).
 */
export type WorkerQueue = WorkQueue &
  WorkerRegistry &
  Pick<QueueMaintenance, 'reap' | 'requeueOwnedByDeadWorkers'> &
  Pick<JobStore, 'get'>;

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
  /** Containers of these jobs left by a build that put no database label on them. */
  findUnlabelledContainers?(jobIds: ReadonlySet<string>): Promise<FoundContainer[]>;
  reattach(containerId: string, request: ExecuteRequest): Promise<JobResult>;
  removeContainer(containerId: string): Promise<void>;
  /** Removes scratch folders of no live attempt and no container; returns their names. */
  sweepScratch?(
    liveAttempts: () => Promise<(jobId: string, attempt: number) => boolean>,
  ): Promise<string[]>;
}
