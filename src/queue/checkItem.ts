import { InvalidSpecError } from '../errors/index.js';
import { QUEUE_NAME_PATTERN, type EnqueueItem } from './types.js';

const QUEUE_NAME = new RegExp(QUEUE_NAME_PATTERN);

/**
 * The checks every backend's submit makes before writing (the API has validated the
 * body already; these guard the queue's own invariants for any caller). Throws
 * InvalidSpec naming `${prefix}${field}`.
 */
export function checkItem(item: EnqueueItem, prefix: string): void {
  const fail = (field: string, message: string): never => {
    throw new InvalidSpecError(`${prefix}${field}`, message);
  };
  if (item.queue !== undefined && !QUEUE_NAME.test(item.queue)) {
    fail('queue', 'must be 1-64 of a-z, 0-9, ".", "_", "-"');
  }
  if (item.priority !== undefined && !Number.isInteger(item.priority)) {
    fail('priority', 'must be an integer');
  }
  if (item.runAt !== undefined && !Number.isFinite(item.runAt)) {
    fail('run_at', 'is not a valid time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)');
  }
  if (!Number.isInteger(item.maxAttempts) || item.maxAttempts < 1) {
    fail('max_attempts', 'must be an integer of at least 1');
  }
  for (const code of item.retryOnExitCodes ?? []) {
    if (!Number.isInteger(code)) fail('retry_on_exit_codes', 'must hold integers');
  }
}
