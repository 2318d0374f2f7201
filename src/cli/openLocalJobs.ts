import { FINAL_STATUSES, type JobView } from '../api/jobView.js';
import type { Config } from '../config.js';
import { RunboxError } from '../errors/index.js';
import { canonicalJobId } from '../queue/ids.js';
import type { LocalJobs } from './localJobs.js';

// Its own file, imported only when needed: the client-only build (scripts/build.mjs)
// leaves it out, and with it SQLite, PostgreSQL and the blob stores.
export async function openLocalJobs(config: Readonly<Config>): Promise<LocalJobs> {
  // Loaded here, not at the top: only a command that falls back to the database pays
  // for SQLite and the blob store.
  const [{ createQueue, createBlobStore }, { toView, listJobs }, { toWorkerView }, { Readable }] =
    await Promise.all([
      import('../backends.js'),
      import('../api/jobService.js'),
      import('../api/workerView.js'),
      import('node:stream'),
    ]);
  const queue = await createQueue(config);
  const get = async (given: string): Promise<JobView> => {
    const id = canonicalJobId(given);
    const record = await queue.get(id);
    if (!record) {
      throw new RunboxError('NotFound', `no job ${id} in ${config.dbPath}`, { field: 'id' });
    }
    return toView(record);
  };
  return {
    get,
    list: (filter) => listJobs(queue, filter),
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
    workers: async () => (await queue.listWorkers()).map(toWorkerView),
    close: () => queue.close(),
  };
}
