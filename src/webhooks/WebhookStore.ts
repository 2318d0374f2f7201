/**
 * Where deliveries live. Async so a PostgreSQL store can follow the SQLite one
 * (src/webhooks/sqlite/); rows are written by the database itself when a job with a
 * webhook_url reaches a final state (migration 004's trigger), never by this interface.
 */
/** The error of an attempt whose process stopped before recording its outcome. */
export const LOST_ATTEMPT_ERROR =
  'no outcome recorded: the process sending it stopped (killed or lost its database) ' +
  'and its lease ran out; the receiver may have had it';

export interface DeliveryClaim {
  id: number;
  jobId: string;
  url: string;
  /** job.succeeded, job.failed or job.cancelled. */
  event: string;
  /** Attempts made before this one. */
  attempts: number;
  /** When the job ended (ms): retries stop at createdAt + webhooks.retryForMs. */
  createdAt: number;
}

export interface AttemptResult {
  deliveryId: number;
  /** The claim's owner: a result from an owner whose lease was taken over is dropped. */
  owner: string;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** delivered: 2xx; retry: at nextAttemptAt; failed: given up. */
  outcome: 'delivered' | 'retry' | 'failed';
  nextAttemptAt: number | null;
  now: number;
}

export interface AttemptView {
  attempt: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface DeliveryView {
  id: number;
  url: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  finishedAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  history: AttemptView[];
}

export interface WebhookStore {
  /**
   * Leases up to `limit` due pending deliveries to `owner` until now + leaseMs. A lease
   * that ran out (its process died mid-POST) is claimable again: at least once. Such a
   * lease's attempt is counted first, with LOST_ATTEMPT_ERROR in its history, so the
   * next try carries the next attempt number.
   */
  claimDue(owner: string, now: number, leaseMs: number, limit: number): Promise<DeliveryClaim[]>;
  /** Records one attempt and its outcome in one transaction; false when the lease was lost. */
  recordAttempt(result: AttemptResult): Promise<boolean>;
  /** A job's deliveries with their attempts, oldest first. */
  listForJob(jobId: string): Promise<DeliveryView[]>;
  /** Deliveries not yet delivered nor failed, due or not. */
  countPending(): Promise<number>;
}
