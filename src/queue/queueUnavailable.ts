import { RunboxError } from '../errors/index.js';

/**
 * Whether an error is the queue database not answering (down, restarting, failing over):
 * StorageUnavailable on queue.url, as the PostgreSQL queue types it. What failed may
 * succeed once the database is back.
 */
export function isQueueUnavailable(error: unknown): boolean {
  return (
    error instanceof RunboxError &&
    error.type === 'StorageUnavailable' &&
    error.field === 'queue.url'
  );
}

/**
 * Whether the queue database answered the reaper's last pass (every second on every
 * `runbox serve`), for /healthz: a load balancer should hear that a node whose database
 * is down cannot take or answer for jobs, not "ok".
 */
export class QueueHealth {
  private up: boolean | null = null;

  /** Last known state; null before the first pass. */
  isUp(): boolean | null {
    return this.up;
  }

  /** A pass's outcome (null: it answered). Only a connection failure marks it down. */
  observe(error: unknown): void {
    if (error === null) this.up = true;
    else if (isQueueUnavailable(error)) this.up = false;
  }
}
