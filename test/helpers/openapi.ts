import openapiTS, { astToString } from 'openapi-typescript';
import { JobService } from '../../src/api/jobService.js';
import { activityView } from '../../src/api/activityView.js';
import { buildServer } from '../../src/api/server.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { ScheduleService } from '../../src/schedules/ScheduleService.js';
import { SqliteScheduleStore } from '../../src/schedules/sqlite/SqliteScheduleStore.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { SqliteWebhookStore } from '../../src/webhooks/sqlite/SqliteWebhookStore.js';
import { testConfig } from './testConfig.js';

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  servers: Array<{ url: string }>;
};

/** Where the published client keeps the document and the types generated from it. */
export const CLIENT_DIR = 'clients/typescript';

/** The document a server of this source tree serves (built in-process, over a temp data dir). */
export async function servedDocument(): Promise<OpenApiDocument> {
  const { config, cleanup } = testConfig();
  const queue = SqliteQueue.open(config);
  try {
    const jobs = new JobService(config, queue);
    const app = await buildServer({
      config,
      jobs,
      webhooks: new SqliteWebhookStore(queue.db),
      schedules: new ScheduleService(new SqliteScheduleStore(queue.db), (body, prefix) =>
        jobs.prepare(body, prefix),
      ),
      runningLogs: { find: () => Promise.resolve(null) },
      store: await createFileBlobStore(config),
      system: {
        engineUp: () => true,
        queueUp: () => true,
        workers: async () => [],
        queues: async () => [],
        metrics: new RunboxMetrics({ process: 'serve', workerId: 'document' }),
        runtimes: async () => [],
        imagesMissing: () => [],
        diskLow: async () => false,
        activity: async () => activityView(await queue.activity()),
      },
    });
    const answer = await app.inject({
      method: 'GET',
      url: '/openapi.json',
      headers: { host: '127.0.0.1:7070' },
    });
    await app.close();
    return answer.json<OpenApiDocument>();
  } finally {
    queue.close();
    cleanup();
  }
}

/**
 * The document as the client package commits it: no servers (each user has their own)
 * and no build version (a dev build and a release serve the same API).
 */
export function committedForm(doc: OpenApiDocument): string {
  const { servers: _servers, info, ...rest } = doc;
  const { version: _version, ...about } = info as Record<string, unknown>;
  return `${JSON.stringify({ info: about, ...rest }, null, 2)}\n`;
}

/** TypeScript types for the document, as openapi-typescript writes them. */
export async function clientTypes(doc: OpenApiDocument): Promise<string> {
  const header =
    '// Generated from the runbox OpenAPI document by `npx tsx scripts/gen-client.ts`; do not edit.\n';
  return header + astToString(await openapiTS(doc as never));
}
