import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../processAlive.js';

/**
 * Which workers run their jobs in a data dir: one empty file per worker pool, named by
 * its worker id, under `dataDir/workers/`. A node reads a running job's live log from
 * its own data dir's scratch files, which only exist there when the worker running the
 * job shares that dir; a worker on the same machine with a data dir of its own (two
 * nodes of a fleet on one host) leaves no such file, and without this mark the node
 * answered such a job's log with an empty 200, the answer of a job that printed nothing.
 */
function markDir(dataDir: string): string {
  return join(dataDir, 'workers');
}

/** Written before the worker registers, so no job it claims precedes its mark. */
export async function markWorker(dataDir: string, workerId: string): Promise<void> {
  await mkdir(markDir(dataDir), { recursive: true });
  await writeFile(join(markDir(dataDir), workerId), '');
  await pruneDeadMarks(dataDir, workerId);
}

export async function unmarkWorker(dataDir: string, workerId: string): Promise<void> {
  await rm(join(markDir(dataDir), workerId), { force: true });
}

export async function workerSharesDataDir(dataDir: string, workerId: string): Promise<boolean> {
  return access(join(markDir(dataDir), workerId)).then(
    () => true,
    () => false,
  );
}

/**
 * A worker killed with -9 leaves its mark; ids never repeat (a random part), so a stale
 * mark misleads nobody, and the marks of this host's processes that are gone are removed
 * here so they do not pile up (ids are `host-pid-random`, as WorkerPool makes them).
 */
async function pruneDeadMarks(dataDir: string, self: string): Promise<void> {
  const names = await readdir(markDir(dataDir)).catch(() => [] as string[]);
  for (const name of names) {
    const parts = /^(.+)-(\d+)-[0-9a-f]+$/.exec(name);
    if (name === self || parts?.[1] !== hostname()) continue;
    if (!pidAlive(Number(parts[2]))) await rm(join(markDir(dataDir), name), { force: true });
  }
}
