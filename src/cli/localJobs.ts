import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { JobStatus, JobView, ListedJobView } from '../api/jobView.js';
import type { WorkerView } from '../api/schemas.js';
import { RunboxError } from '../errors/index.js';
import type { CliContext, GlobalFlags } from './context.js';
import type { ApiClient } from './client.js';

/** GET /v1/jobs's answer. */
export interface JobPageView {
  jobs: ListedJobView[];
  next_cursor: string | null;
}

/** Reads jobs straight from this machine's database: the jobs `runbox run` recorded. */
export interface LocalJobs {
  get(id: string): Promise<JobView>;
  /** A page of jobs, newest first, as GET /v1/jobs answers it. */
  list(filter: { status?: JobStatus; limit: number; cursor?: string }): Promise<JobPageView>;
  /** A stored log stream; a job still running elsewhere is waited for first. */
  logs(id: string, stream: 'stdout' | 'stderr', follow: boolean): Promise<Readable>;
  /** The worker pools registered in it, as GET /v1/workers lists them. */
  workers(): Promise<WorkerView[]>;
  close(): Promise<void>;
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
  const { config, sources } = ctx.clientResolved(flags);
  try {
    return await remote(ctx.client(flags));
  } catch (error) {
    const fallBack =
      sources.server === 'default' &&
      error instanceof RunboxError &&
      (error.type === 'ServerUnavailable' || error.type === 'NotFound') &&
      config.dbPath !== null &&
      existsSync(config.dbPath);
    if (!fallBack) throw error;
    // The client-only build has no database code: the full CLI runs the command again.
    if (ctx.handOff) return ctx.handOff();
    const { openLocalJobs } = await import('./openLocalJobs.js');
    const jobs = await openLocalJobs(ctx.config(flags));
    try {
      return await local(jobs);
    } finally {
      await jobs.close();
    }
  }
}
