import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

/** The job's user inside the container (nobody:nogroup). */
export const JOB_UID = 65534;
export const JOB_GID = 65534;

/** Host folders bind-mounted into one attempt's container: the only host paths it sees. */
export interface ScratchDir {
  root: string;
  /** Mounted at /work. */
  work: string;
  /** Mounted at /outputs. */
  outputs: string;
}

export function scratchRoot(dataDir: string): string {
  return join(dataDir, 'scratch');
}

/**
 * Creates `${dataDir}/scratch/<jobId>-<attempt>-<random>/{work,outputs}`, writable by
 * the job's user. Why host folders: with a read-only rootfs and uid 65534 the job
 * cannot write into a Docker volume's root (it stays root-owned), and a tmpfs mount
 * is gone once the container stops, before getArchive could read the outputs.
 */
export async function createScratch(
  dataDir: string,
  jobId: string,
  attempt: number,
): Promise<ScratchDir> {
  const safeJob = jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  const root = join(
    scratchRoot(dataDir),
    `${safeJob}-${attempt}-${randomBytes(4).toString('hex')}`,
  );
  const dirs = { root, work: join(root, 'work'), outputs: join(root, 'outputs') };
  await mkdir(dirs.work, { recursive: true });
  await mkdir(dirs.outputs, { recursive: true });
  for (const dir of [dirs.work, dirs.outputs]) {
    // mkdir's mode is filtered by the umask; chmod is not.
    await chmod(dir, 0o777);
    if (process.getuid?.() === 0) await chown(dir, JOB_UID, JOB_GID);
  }
  return dirs;
}

/**
 * Removes a scratch folder. Refuses anything outside `${dataDir}/scratch` (the path of
 * a re-attached container comes from the engine, so it is checked, not trusted).
 */
export async function removeScratch(dataDir: string, root: string): Promise<void> {
  const base = resolve(scratchRoot(dataDir)) + sep;
  const target = resolve(root);
  if (!target.startsWith(base) || target.slice(base.length).includes(sep)) return;
  await rm(target, { recursive: true, force: true, maxRetries: 3 });
}
