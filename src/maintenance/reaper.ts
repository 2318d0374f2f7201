import type { Logger } from '../log.js';
import type { JobMetrics } from '../metrics.js';
import type { QueueMaintenance } from '../queue/QueueBackend.js';

/**
 * One pass of the reaper: jobs whose lease expired go back to the queue (or fail, or
 * end cancelled), each with a lifecycle line. Every pool runs it on a timer; `keep`
 * names the jobs the calling pool still holds: they are judged by its own heartbeat,
 * not by the clock (their lease lapses while the disk is full, and the result kept for
 * them must win). Returns how many jobs it touched.
 */
export async function reapExpiredLeases(deps: {
  queue: Pick<QueueMaintenance, 'reap'>;
  keep: ReadonlySet<string>;
  log: Logger;
  metrics?: Pick<JobMetrics, 'requeued'> | undefined;
}): Promise<number> {
  const outcome = await deps.queue.reap(deps.keep);
  deps.metrics?.requeued('lease-expired', outcome.requeued.length);
  for (const id of outcome.requeued)
    deps.log.info('job requeued', { job: id, reason: 'lease-expired' });
  for (const id of [...outcome.failed, ...outcome.cancelled])
    deps.log.warn('job lost with its worker', { job: id, reason: 'lease-expired' });
  return outcome.requeued.length + outcome.failed.length + outcome.cancelled.length;
}
