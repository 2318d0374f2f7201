import { InvalidSpecError } from '../errors/index.js';
import { QUEUE_NAME_PATTERN, type EnqueueItem } from './types.js';

const QUEUE_NAME = new RegExp(QUEUE_NAME_PATTERN);
/** String.prototype.isWellFormed is ES2024; this is its negation. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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
  const key = item.idempotencyKey;
  // A lone surrogate reaches the database as U+FFFD (PostgreSQL) or as it is (SQLite):
  // two keys distinct here were one key on one backend and two on the other. PostgreSQL
  // cannot store NUL at all.
  if (key != null && (LONE_SURROGATE.test(key) || key.includes('\u0000'))) {
    fail('idempotency_key', 'must be well-formed Unicode without NUL characters');
  }
}

/**
 * checkItem for each item of one submit call, then the call as a whole: each
 * idempotency key at most once. A repeat within one call is a client bug (two bodies
 * for one key, or one job sent twice), and the backends differed on it; it is refused
 * naming the repeat and the item it repeats, before anything is written.
 */
export function checkItems(items: readonly EnqueueItem[]): void {
  const prefix = (i: number) => (items.length > 1 ? `jobs.${i}.` : '');
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    checkItem(item, prefix(i));
    const key = item.idempotencyKey;
    if (key == null) return;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new InvalidSpecError(
        `${prefix(i)}idempotency_key`,
        `repeats the key of jobs.${first} ("${key.slice(0, 80)}"); name each key once in a ` +
          'batch: send that job once, or give each job its own key',
      );
    }
    seen.set(key, i);
  });
}
