import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
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

function safeJobId(jobId: string): string {
  return jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/**
 * The name of one attempt's scratch folder: `<job>-<attempt>-<random>`, with a prefix
 * for re-attach spools. The job and attempt in the name are what lets startup recovery
 * tell a live attempt's folder from one a crash left (see sweepScratch).
 */
export function scratchName(jobId: string, attempt: number, prefix = ''): string {
  return `${prefix}${safeJobId(jobId)}-${attempt}-${randomBytes(4).toString('hex')}`;
}

const SCRATCH_NAME = /^(?:reattach-)?(.+)-(\d+)-[0-9a-f]{8}$/;

/** Job and attempt a scratch folder was made for; null for a name runbox did not give. */
export function parseScratchName(name: string): { jobId: string; attempt: number } | null {
  const m = SCRATCH_NAME.exec(name);
  return m ? { jobId: m[1]!, attempt: Number(m[2]) } : null;
}

/**
 * Removes scratch folders a crashed process left: a kill -9 between creating an
 * attempt's folder and creating its container (or during a re-attach) leaves a folder
 * no container mounts, which nothing else would ever remove.
 *
 * Hazard: another live process on this data dir may have just created a folder for an
 * attempt it claimed. Its claim committed before the folder existed, so the folders are
 * listed first and `keep` (which reads the database and the engine) is asked after:
 * a listed folder of a live attempt is always seen as live.
 */
export async function sweepScratch(
  dataDir: string,
  keep: () => Promise<(name: string, parsed: { jobId: string; attempt: number } | null) => boolean>,
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(scratchRoot(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (names.length === 0) return [];
  const isKept = await keep();
  const removed: string[] = [];
  // One folder that cannot be removed (a runbox that is not root, under a job's own
  // folders) must not keep the rest: each is tried, and the failures reported after.
  const failed: { name: string; error: unknown }[] = [];
  for (const name of names) {
    if (isKept(name, parseScratchName(name))) continue;
    try {
      await removeScratch(dataDir, join(scratchRoot(dataDir), name));
      removed.push(name);
    } catch (error) {
      failed.push({ name, error });
    }
  }
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new Error(
      `${failed.length} scratch folder(s) could not be removed (${removed.length} were), ` +
        `first ${first.name}: ${(first.error as Error).message}`,
      { cause: first.error },
    );
  }
  return removed;
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
  const root = join(scratchRoot(dataDir), scratchName(jobId, attempt));
  const dirs = { root, work: join(root, 'work'), outputs: join(root, 'outputs') };
  // Private on the host (the job reaches work/ and outputs/ through its bind mounts,
  // which do not depend on the folders above them).
  await mkdir(scratchRoot(dataDir), { recursive: true, mode: 0o700 });
  await mkdir(root, { mode: 0o700 });
  await mkdir(dirs.work, { recursive: true });
  await mkdir(dirs.outputs, { recursive: true });
  for (const dir of [dirs.work, dirs.outputs]) {
    // mkdir's mode is filtered by the umask; chmod is not.
    await chmod(dir, 0o777);
    if (process.geteuid?.() === 0) await chown(dir, JOB_UID, JOB_GID);
  }
  return dirs;
}

/**
 * Removes a scratch folder. Refuses anything outside `${dataDir}/scratch` (the path of
 * a re-attached container comes from the engine, so it is checked, not trusted).
 */
export async function removeScratch(dataDir: string, root: string): Promise<void> {
  const inside = underScratch(dataDir, root);
  if (inside === null || inside.includes(sep)) return;
  await rm(resolve(root), { recursive: true, force: true, maxRetries: 3 });
}

/**
 * `path` relative to `${dataDir}/scratch` when it is inside it, else null: paths a
 * re-attached container's mounts name come from the engine, so they are checked.
 */
export function underScratch(dataDir: string, path: string): string | null {
  const base = resolve(scratchRoot(dataDir)) + sep;
  const target = resolve(path);
  return target.startsWith(base) ? target.slice(base.length) : null;
}
