import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { FINAL_STATUSES, type JobView } from '../api/jobView.js';
import type { Config } from '../config.js';
import { RunboxError } from '../errors/index.js';
import type { CliContext, GlobalFlags } from './context.js';
import type { ApiClient } from './client.js';

/** Reads jobs straight from this machine's database: the jobs `runbox run` recorded. */
export interface LocalJobs {
  get(id: string): Promise<JobView>;
  /** A stored log stream; a job still running elsewhere is waited for first. */
  logs(id: string, stream: 'stdout' | 'stderr', follow: boolean): Promise<Readable>;
  close(): Promise<void>;
}

async function openLocalJobs(config: Readonly<Config>): Promise<LocalJobs> {
  // Loaded here, not at the top: only a command that falls back to the database pays
  // for SQLite and the blob store.
  const [{ createQueue, createBlobStore }, { toView }, { Readable }] = await Promise.all([
    import('../backends.js'),
    import('../api/jobService.js'),
    import('node:stream'),
  ]);
  const queue = await createQueue(config);
  const get = async (id: string): Promise<JobView> => {
    const record = await queue.get(id);
    if (!record) {
      throw new RunboxError('NotFound', `no job ${id} in ${config.dbPath}`, { field: 'id' });
    }
    return toView(record);
  };
  return {
    get,
    async logs(id, stream, follow) {
      let job = await get(id);
      while (follow && !FINAL_STATUSES.has(job.status)) {
        await new Promise((r) => setTimeout(r, 250));
        job = await get(id);
      }
      const blob = job.result?.[stream].blob;
      if (!blob) return Readable.from([]);
      const store = await createBlobStore(config);
      return store.openDecompressed(blob);
    },
    close: () => queue.close(),
  };
}

/**
 * Runs `remote` against the server, or `local` against this machine's database when no
 * server was named (flag, RUNBOX_SERVER or config file) and the default one is not
 * running or does not know the job: that is where `runbox run` keeps its jobs.
 */
export async function remoteOrLocal<T>(
  ctx: CliContext,
  flags: GlobalFlags,
  remote: (client: ApiClient) => Promise<T>,
  local: (jobs: LocalJobs) => Promise<T>,
): Promise<T> {
  const { config, sources } = ctx.resolved(flags);
  try {
    return await remote(ctx.client(flags));
  } catch (error) {
    const fallBack =
      sources.server === 'default' &&
      error instanceof RunboxError &&
      (error.type === 'ServerUnavailable' || error.type === 'NotFound') &&
      existsSync(config.dbPath);
    if (!fallBack) throw error;
    const jobs = await openLocalJobs(config);
    try {
      return await local(jobs);
    } finally {
      await jobs.close();
    }
  }
}
