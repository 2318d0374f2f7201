import { dirname } from 'node:path';
import type Docker from 'dockerode';
import { LABELS } from './Executor.js';
import { WORK_DIR } from './containerConfig.js';
import { engineStatus, toEngineError } from './engineErrors.js';
import { removeScratch } from './scratchDir.js';

/** A container a runbox process on this database left on the engine. */
export interface FoundContainer {
  containerId: string;
  jobId: string;
  attempt: number;
  running: boolean;
}

/**
 * Every container (any state) labelled with this database's id, for startup recovery.
 * Only these: another installation's containers on the same engine are not ours to
 * adopt or remove, whatever instance name they carry.
 */
export async function findContainers(docker: Docker, database: string): Promise<FoundContainer[]> {
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.database}=${database}`] },
    });
  } catch (error) {
    throw toEngineError(error, 'listing containers');
  }
  return list.map((c) => ({
    containerId: c.Id,
    jobId: c.Labels[LABELS.job] ?? '',
    attempt: Number.parseInt(c.Labels[LABELS.attempt] ?? '0', 10) || 0,
    running: c.State === 'running',
  }));
}

/**
 * Containers a runbox from before SQLite's migration 002 left for these jobs: they carry
 * the job's label but no database label (it did not exist), so findContainers cannot see
 * them. A server of that build killed mid-job left its containers running, and the first
 * start of a newer build requeued their jobs beside them: the job ran twice at once and
 * the old container was never removed. Matched by job id only (ULIDs, this database's
 * running jobs), so an unlabelled container of another installation is left alone.
 */
export async function findUnlabelledContainers(
  docker: Docker,
  jobIds: ReadonlySet<string>,
): Promise<FoundContainer[]> {
  if (jobIds.size === 0) return [];
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({ all: true, filters: { label: [LABELS.job] } });
  } catch (error) {
    throw toEngineError(error, 'listing containers');
  }
  return list
    .filter(
      (c) => c.Labels[LABELS.database] === undefined && jobIds.has(c.Labels[LABELS.job] ?? ''),
    )
    .map((c) => ({
      containerId: c.Id,
      jobId: c.Labels[LABELS.job] ?? '',
      attempt: Number.parseInt(c.Labels[LABELS.attempt] ?? '0', 10) || 0,
      running: c.State === 'running',
    }));
}

/**
 * Force-removes a container with its anonymous volumes, and its scratch folder under
 * `${dataDir}/scratch` (found from its /work mount). A missing container is not an error.
 */
export async function removeContainer(
  docker: Docker,
  dataDir: string,
  containerId: string,
): Promise<void> {
  const container = docker.getContainer(containerId);
  let scratch: string | null = null;
  try {
    const info = await container.inspect();
    const work = info.Mounts.find((m) => m.Destination === WORK_DIR);
    scratch = work ? dirname(work.Source) : null;
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (engineStatus(error) !== 404)
      throw toEngineError(error, `removing container ${containerId}`);
  }
  if (scratch) await removeScratch(dataDir, scratch);
}
