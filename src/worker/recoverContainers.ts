import { hostname } from 'node:os';
import { toRunboxError } from '../errors/index.js';
import type { Logger } from '../log.js';
import { pidAlive } from '../processAlive.js';
import type { JobMetrics } from '../metrics.js';
import type { ClaimedJob } from '../queue/types.js';
import type { RecoverableExecutor, WorkerQueue } from './ports.js';

/**
 * A worker row on this host whose process is gone (kill -9, crash) still looks alive
 * until its heartbeat ages out. Its pid tells the truth sooner: mark it lost (it claims
 * no more, and reads dead, not stopped: it did not stop), so its containers can be
 * adopted now instead of after the lease expires. A row with our own
 * pid but another id is a previous incarnation (pid reuse after a restart in a container).
 */
async function markDeadLocalWorkers(queue: WorkerQueue, ownId: string, log: Logger): Promise<void> {
  const host = hostname();
  for (const worker of await queue.listWorkers()) {
    if (!worker.alive || worker.id === ownId || worker.host !== host) continue;
    if (worker.pid === process.pid || !pidAlive(worker.pid)) {
      log.info('worker process is gone; marking it dead', {
        worker: worker.id,
        pid: worker.pid,
      });
      await queue.markWorkerLost(worker.id);
    }
  }
}

export interface RecoverOptions {
  workerId: string;
  queue: WorkerQueue;
  executor: RecoverableExecutor;
  log: Logger;
  /** Runs an adopted job to its result (re-attached to its container). */
  adoptRun: (job: ClaimedJob, containerId: string) => Promise<void>;
  /**
   * Take over dead workers' jobs (re-attach, or requeue those whose container is gone).
   * `runbox run` passes false: it runs only its own job, and must neither wait for
   * another job it adopted nor requeue one whose container it left running.
   * @defaultValue true
   */
  adopt?: boolean;
  metrics?: Pick<JobMetrics, 'requeued' | 'ended'> | undefined;
}

/**
 * Startup recovery, so nothing has to be cleaned up by hand after a crash:
 * - a labelled container whose job is still running under a dead owner is adopted:
 *   re-attached, and its result recorded when it ends;
 * - a labelled container that belongs to no live attempt is removed;
 * - running jobs of dead owners whose container is gone are requeued now rather
 *   than when their lease runs out.
 * A container whose job is held by a live worker (another process on this database)
 * is left alone.
 */
export async function recoverContainers(options: RecoverOptions): Promise<void> {
  const { queue, executor, log, workerId } = options;
  await markDeadLocalWorkers(queue, workerId, log);
  let containers;
  try {
    containers = await executor.findContainers();
  } catch (error) {
    log.warn('cannot list containers for recovery; leases will expire instead', {
      error: toRunboxError(error),
    });
    return;
  }
  const running = new Map((await queue.runningJobs()).map((j) => [j.id, j]));
  for (const container of containers) {
    const job = running.get(container.jobId);
    const isLiveAttempt = job !== undefined && job.attempt === container.attempt;
    if (isLiveAttempt && (options.adopt === false || (await queue.isWorkerAlive(job.owner))))
      continue;
    const adopted = isLiveAttempt
      ? await queue.adopt({ jobId: container.jobId, attempt: container.attempt, workerId })
      : null;
    if (adopted) {
      log.info('re-attaching to a container left by a dead worker', {
        job: adopted.id,
        attempt: adopted.attempt,
      });
      void options.adoptRun(adopted, container.containerId);
      continue;
    }
    await removeLeftover(options, container, 'removing a container that belongs to no live job');
  }
  if (options.adopt !== false) {
    await removeUnlabelled(options, running);
    const outcome = await queue.requeueOwnedByDeadWorkers();
    // Their worker is gone as surely as one whose lease ran out: the same counters.
    options.metrics?.requeued('lease-expired', outcome.requeued.length);
    options.metrics?.ended('failed', 'WorkerLost', outcome.failed.length);
    options.metrics?.ended('cancelled', 'Cancelled', outcome.cancelled.length);
    const requeued = outcome.requeued.length + outcome.failed.length + outcome.cancelled.length;
    if (requeued > 0)
      log.info('requeued jobs of dead workers', { count: requeued, host: hostname() });
  }
  if (executor.sweepScratch) {
    // Read after the folders are listed (inside sweepScratch): a live attempt's folder
    // is never taken for a crash's leftover.
    const removed = await executor
      .sweepScratch(async () => {
        const live = new Set((await queue.runningJobs()).map((j) => `${j.id}#${j.attempt}`));
        return (jobId, attempt) => live.has(`${jobId}#${attempt}`);
      })
      .catch((error: unknown) => {
        log.warn('cannot sweep scratch folders; they stay until the next start', {
          error: toRunboxError(error),
        });
        return [];
      });
    if (removed.length > 0)
      log.info('removed scratch folders left by a crash', { count: removed.length });
  }
}

/**
 * A container of an older build (no database label) cannot be re-attached: what it
 * mounts and how it writes its outputs predate this build. Removed before its job is
 * requeued, so the job runs once more instead of twice at once.
 */
async function removeUnlabelled(
  options: RecoverOptions,
  running: ReadonlyMap<string, { owner: string | null }>,
): Promise<void> {
  const { queue, executor, log } = options;
  if (!executor.findUnlabelledContainers) return;
  let containers;
  try {
    containers = await executor.findUnlabelledContainers(new Set(running.keys()));
  } catch (error) {
    log.warn('cannot list containers of an older runbox', { error: toRunboxError(error) });
    return;
  }
  for (const container of containers) {
    // Asked only for the few found: a live worker of that build would still be using it.
    if (await queue.isWorkerAlive(running.get(container.jobId)?.owner ?? null)) continue;
    await removeLeftover(
      options,
      container,
      'removing a container an older runbox left for a job it was running; the job runs again',
    );
  }
}

/** A leftover that will not go is only warned about: the next start or the reaper tries again. */
async function removeLeftover(
  { executor, log }: RecoverOptions,
  container: { containerId: string; jobId: string; attempt: number },
  why: string,
): Promise<void> {
  log.info(why, { job: container.jobId, attempt: container.attempt });
  await executor.removeContainer(container.containerId).catch((error: unknown) => {
    log.warn('could not remove a leftover container', {
      container: container.containerId,
      error: toRunboxError(error),
    });
  });
}
