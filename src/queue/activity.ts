import type { ActivityBucket } from './types.js';

/** One row of a backend's activity read: `n` events of `kind` in bucket `b`. */
export interface ActivityEvent {
  kind: string;
  b: number;
  n: number | string;
}

/**
 * The dashboard's buckets from a backend's event counts (see sqlite/readActivity.ts for
 * what each count means): `count` buckets of `step` ms ending with the one holding `now`,
 * and the queue depth walked back from today's exact count. Backend-neutral: only the
 * counting query differs.
 */
export function activityBuckets(args: {
  from: number;
  step: number;
  count: number;
  events: readonly ActivityEvent[];
  queuedNow: number;
}): ActivityBucket[] {
  const { from, step, count } = args;
  const buckets: ActivityBucket[] = Array.from({ length: count }, (_, i) => ({
    start: from + i * step,
    submitted: 0,
    dequeued: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    queued: 0,
  }));
  for (const row of args.events) {
    const bucket = buckets[row.b];
    if (!bucket) continue; // a clock step put a time past now
    const n = Number(row.n);
    if (row.kind === 'submitted' || row.kind === 'dequeued') bucket[row.kind] += n;
    else if (row.kind === 'succeeded' || row.kind === 'failed' || row.kind === 'cancelled')
      bucket[row.kind] += n;
  }
  let depth = args.queuedNow;
  for (let i = count - 1; i >= 0; i--) {
    buckets[i]!.queued = Math.max(0, depth);
    depth -= buckets[i]!.submitted - buckets[i]!.dequeued;
  }
  return buckets;
}

/** The first bucket's start for `count` buckets of `step` ms ending with the one holding now. */
export function activityWindowStart(now: number, step: number, count: number): number {
  return Math.floor(now / step) * step - (count - 1) * step;
}
