/** The parts of the API's answers the dashboard reads (see /openapi.json for all of it). */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];
export const FINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface LogInfo {
  bytes: number;
  truncated: boolean;
  blob: string | null;
}

export interface OutputEntry {
  path: string;
  type: 'file' | 'symlink';
  size: number;
  sha256: string | null;
  link_target: string | null;
}

export interface JobResult {
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  oom_killed: boolean;
  stdout: LogInfo;
  stderr: LogInfo;
  outputs: OutputEntry[];
  skipped_outputs: Array<{ path: string; reason: string }>;
  metrics?: {
    stage_times?: Record<string, number>;
    total_seconds?: number;
    peak_memory_bytes?: number | null;
    cpu_seconds?: number | null;
  };
  [key: string]: unknown;
}

export interface Job {
  id: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  /** Attempts a drain gave back: they keep their number and do not count against max_attempts. */
  released_attempts: number;
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
  spec: {
    runtime?: string;
    image?: string;
    command?: string[];
    script?: { path: string };
    [key: string]: unknown;
  };
}

export interface JobList {
  jobs: Job[];
  next_cursor: string | null;
}

export interface Worker {
  id: string;
  host: string;
  pid: number;
  version: string;
  contract_version: string;
  started_at: string;
  last_heartbeat_at: string;
  state: 'alive' | 'dead' | 'stopped';
}

/** GET /v1/queues: one named queue. */
export interface QueueView {
  name: string;
  queued: number;
  due: number;
  scheduled: number;
  running: number;
  oldest_due_at: string | null;
  workers: number;
  slots: number;
}

export interface Contract {
  name: string;
  version: string;
  fingerprint: string;
}

export interface Health {
  status: string;
  engine: string;
  disk: string;
  version: string;
}

export interface ActivityBucket {
  start: string;
  submitted: number;
  dequeued: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  queued: number;
}

export interface Activity {
  bucket_seconds: number;
  buckets: ActivityBucket[];
}
