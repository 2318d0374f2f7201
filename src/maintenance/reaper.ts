import { toRunboxError } from '../errors/index.js';
import type { Logger } from '../log.js';
import type { JobMetrics } from '../metrics.js';
import type { QueueMaintenance, WorkQueue } from '../queue/QueueBackend.js';
import type { QueueHealth } from '../queue/queueUnavailable.js';
import type { RecoverableExecutor } from '../worker/ports.js';

/**
 * One pass of the reaper: jobs whose lease expired go back to the queue (or fail, or
 * end cancelled), each with a lifecycle line. Every pool runs it on a timer; `keep`
 * names the jobs the calling pool still holds: they are judged by its own heartbeat,
 * not by the clock (their lease lapses while the disk is full, and the result kept for
 * them must win). Returns how many jobs it touched.
 *
 * With `containers`, the lost attempts' containers on this engine go too: a paused or
 * cut-off worker's container otherwise runs on (its result is refused by token anyway)
 * and, if that worker dies before it wakes, stays until some process restarts.
 */
export async function reapExpiredLeases(deps: {
  queue: Pick<QueueMaintenance, 'reap'> & Pick<WorkQueue, 'runningJobs'>;
  keep: ReadonlySet<string>;
  log: Logger;
  metrics?: Pick<JobMetrics, 'requeued' | 'ended'> | undefined;
  containers?:
    | Pick<RecoverableExecutor, 'findContainers' | 'findUnlabelledContainers' | 'removeContainer'>
    | undefined;
  /** Told whether the database answered this pass (for /healthz). */
  health?: QueueHealth | undefined;
}): Promise<number> {
  let outcome: Awaited<ReturnType<typeof deps.queue.reap>>;
  try {
    outcome = await deps.queue.reap(deps.keep);
    deps.health?.observe(null);
  } catch (error) {
    deps.health?.observe(error);
    throw error;
  }
  deps.metrics?.requeued('lease-expired', outcome.requeued.length);
  deps.metrics?.ended('failed', 'WorkerLost', outcome.failed.length);
  deps.metrics?.ended('cancelled', 'Cancelled', outcome.cancelled.length);
  for (const id of outcome.requeued)
    deps.log.info('job requeued', { job: id, reason: 'lease-expired' });
  for (const id of [...outcome.failed, ...outcome.cancelled])
    deps.log.warn('job lost with its worker', { job: id, reason: 'lease-expired' });
  const reaped = new Set([...outcome.requeued, ...outcome.failed, ...outcome.cancelled]);
  if (reaped.size > 0 && deps.containers)
    await removeLostAttempts(deps.queue, deps.containers, reaped, deps.log);
  return reaped.size;
}

/**
 * Removes this database's containers (findContainers lists no other installation's) of
 * the reaped jobs, except one of an attempt that is live again. The containers are
 * listed before the running jobs are read: a retry claimed in between is then seen
 * live, never taken for the lost attempt. Those an older build left without a database
 * label go too: a server started after their lease ran out reaps their jobs before its
 * startup recovery looks for them.
 */
async function removeLostAttempts(
  queue: Pick<WorkQueue, 'runningJobs'>,
  executor: Pick<
    RecoverableExecutor,
    'findContainers' | 'findUnlabelledContainers' | 'removeContainer'
  >,
  reaped: ReadonlySet<string>,
  log: Logger,
): Promise<void> {
  try {
    const containers = [
      ...(await executor.findContainers()).filter((c) => reaped.has(c.jobId)),
      ...((await executor.findUnlabelledContainers?.(reaped)) ?? []),
    ];
    if (containers.length === 0) return;
    const live = new Set((await queue.runningJobs()).map((j) => `${j.id}#${j.attempt}`));
    for (const container of containers) {
      if (live.has(`${container.jobId}#${container.attempt}`)) continue;
      log.info('removing the container of a lost attempt', {
        job: container.jobId,
        attempt: container.attempt,
      });
      await executor.removeContainer(container.containerId).catch((error: unknown) => {
        log.warn('could not remove the container of a lost attempt', {
          container: container.containerId,
          error: toRunboxError(error),
        });
      });
    }
  } catch (error) {
    // The engine may be down: the next start's recovery removes what is left.
    log.warn('cannot look for containers of lost attempts', { error: toRunboxError(error) });
  }
}

/**
 * The reaper of a process that holds no pool (`runbox serve --workers 0`): every
 * `everyMs` one pass, skipped while `standAside()` says a pool of this process reaps
 * (a pool knows which jobs it holds; this pass would judge them by the clock alone).
 * Without it, jobs of a crashed worker stayed running forever once only API nodes were
 * left on the database. Returns the stop function.
 */
export function startReaper(
  deps: Omit<Parameters<typeof reapExpiredLeases>[0], 'keep'> & {
    everyMs: number;
    standAside: () => boolean;
  },
): () => void {
  let reaping = false;
  const timer = setInterval(() => {
    if (reaping || deps.standAside()) return;
    reaping = true;
    reapExpiredLeases({ ...deps, keep: new Set() })
      .catch((error: unknown) => deps.log.error('reaper failed', { error: toRunboxError(error) }))
      .finally(() => (reaping = false));
  }, deps.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
