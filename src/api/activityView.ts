import type { ActivityBucket } from '../queue/types.js';
import type { ActivityView } from './schemas.js';

/** The queue's activity buckets as /v1/activity serves them (ISO times, snake_case). */
export function activityView(buckets: readonly ActivityBucket[]): ActivityView {
  const first = buckets[0];
  const second = buckets[1];
  return {
    bucket_seconds: first && second ? Math.round((second.start - first.start) / 1000) : 60,
    buckets: buckets.map(({ start, ...counts }) => ({
      start: new Date(start).toISOString(),
      ...counts,
    })),
  };
}
