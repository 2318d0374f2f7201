/** The queue's public surface: the facade, its types, and what doctor and tests need. */
export { Queue, type QueueConfig, type QueueOptions } from './Queue.js';
export { CommitBatcher, type CommitBatcherOptions } from './CommitBatcher.js';
export {
  openDatabase,
  inspectDatabase,
  readDatabaseInfo,
  type DatabaseInfo,
  type OpenDatabaseOptions,
} from './openDatabase.js';
export { LATEST_SCHEMA_VERSION } from './migrations/index.js';
export { backoffMs, decide, INFRASTRUCTURE_ERRORS, type Decision } from './retryPolicy.js';
export type { FinishItem, FinishOutcome } from './finishJobs.js';
export type { HeartbeatOutcome, HeldRef } from './heartbeatJobs.js';
export type { CancelOutcome } from './cancelJob.js';
export type { ReapOutcome } from './requeueJobs.js';
export type { JobPage, ListJobsArgs, OutcomeCount, RunningJob } from './readJobs.js';
export type { ActivityBucket } from './readActivity.js';
export type { DeletedJobs } from './retention.js';
export type { WorkerInfo, WorkerRecord } from './workers.js';
export {
  FINAL_STATUSES,
  JOB_STATUSES,
  type ClaimedJob,
  type EnqueueItem,
  type EnqueueOutcome,
  type JobRecord,
  type JobStatus,
} from './types.js';
