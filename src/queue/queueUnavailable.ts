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
