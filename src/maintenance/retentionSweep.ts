import type { Config } from '../config.js';
import { toRunboxError } from '../errors/index.js';
import type { Logger } from '../log.js';
import type { QueueMaintenance } from '../queue/QueueBackend.js';
import type { BlobStore } from '../storage/BlobStore.js';
import { collectGarbage } from './blobGc.js';

export interface SweepReport {
  deletedJobs: number;
  deletedWorkers: number;
  removedBlobs: number;
  freedBytes: number;
}

/** How long a fresh unreferenced blob is kept: config.blobGraceMs, or derived from the timeout. */
export function blobGraceMs(config: Pick<Config, 'blobGraceMs' | 'defaults'>): number {
  return config.blobGraceMs ?? config.defaults.timeoutSeconds * 1000 * 2 + 10 * 60 * 1000;
}

/**
 * Retention: deletes old finished jobs and dead worker rows, then removes blobs no job
 * refers to. Blobs younger than the longest a job may run (plus margin) are kept, since
 * a running job may have stored them without having recorded its result yet.
 */
export async function retentionSweep(deps: {
  queue: Pick<QueueMaintenance, 'deleteDeadWorkers' | 'deleteExpiredJobs' | 'referencedBlobs'>;
  store: BlobStore;
  config: Readonly<Config>;
  logger?: Logger;
}): Promise<SweepReport> {
  const { queue, store, config } = deps;
  try {
    const deletedWorkers = await queue.deleteDeadWorkers();
    let deletedJobs = 0;
    for (;;) {
      const { jobIds } = await queue.deleteExpiredJobs(1000);
      deletedJobs += jobIds.length;
      if (jobIds.length < 1000) break;
    }
    const graceMs = blobGraceMs(config);
    const blobs: string[] = [];
    for await (const entry of store.list()) blobs.push(entry.sha256);
    const referenced = await queue.referencedBlobs(blobs);
    const gc = await collectGarbage({ store, referenced, olderThanMs: graceMs });
    const report = {
      deletedJobs,
      deletedWorkers,
      removedBlobs: gc.removedBlobs,
      freedBytes: gc.freedBytes,
    };
    if (deletedJobs + gc.removedBlobs > 0) deps.logger?.info('retention sweep', { ...report });
    return report;
  } catch (error) {
    deps.logger?.error('retention sweep failed', { error: toRunboxError(error) });
    throw error;
  }
}

/**
 * The retention sweep of a long-running process: one pass every `everyMs`, never two at
 * once. A failed pass is logged (by retentionSweep) and the next one tries again: an S3
 * outage or a stray file in the blob folder used to be an unhandled rejection that took
 * `runbox serve` down with every running job. The returned stop waits for a pass in
 * flight, so the database is not closed under it.
 */
export function startRetentionSweeps(
  deps: Parameters<typeof retentionSweep>[0] & { everyMs: number },
): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = retentionSweep(deps)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (inFlight = null));
  }, deps.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
