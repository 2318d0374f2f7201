import { PassThrough, Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { BlobStore } from '../../storage/BlobStore.js';
import type { LiveLogs } from '../../worker/LiveLogs.js';
import type { JobService } from '../jobService.js';
import { FINAL_STATUSES } from '../jobView.js';
import { Body, ErrorBodySchema, IdParams } from '../schemas.js';
import type { Api } from '../typeProvider.js';

const LogsQuery = Type.Object(
  {
    stream: Type.Optional(
      Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], {
        description: 'default stdout',
      }),
    ),
    follow: Type.Optional(Type.Boolean({ description: 'Stream live until the job ends' })),
  },
  { additionalProperties: false },
);

const POLL_MS = 100;

/**
 * Logs of a finished job come from the blob store. A job running in this process is
 * followed through its live tail; one running in another process (a separate
 * `runbox worker`) is waited for, then its stored log is sent.
 */
export function registerLogRoutes(
  app: Api,
  jobs: JobService,
  liveLogs: LiveLogs,
  store: BlobStore,
): void {
  const stored = (id: string, stream: 'stdout' | 'stderr'): Readable => {
    const blob = jobs.get(id).result?.[stream].blob;
    return blob ? store.openDecompressed(blob) : Readable.from([]);
  };

  app.get(
    '/v1/jobs/:id/logs',
    {
      schema: {
        operationId: 'getJobLogs',
        summary: "A job's stdout or stderr; follow=true streams until it ends",
        description:
          'The bytes the job wrote, as they are (not necessarily UTF-8 despite the type). ' +
          'Over limits.logBytes the head and the last 1 MiB are kept around a marked cut.',
        tags: ['outputs'],
        params: IdParams,
        querystring: LogsQuery,
        response: {
          200: Body('text/plain; charset=utf-8', 'The log bytes'),
          404: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { stream = 'stdout', follow = false } = request.query;
      const job = jobs.get(id);
      void reply.type('text/plain; charset=utf-8');
      if (FINAL_STATUSES.has(job.status)) return reply.send(stored(id, stream));

      const out = new PassThrough();
      let closed = false;
      request.raw.on('close', () => {
        closed = true;
      });
      const pump = async () => {
        for (;;) {
          if (closed) return out.end();
          const now = jobs.get(id);
          if (FINAL_STATUSES.has(now.status)) {
            stored(id, stream).pipe(out);
            return;
          }
          let ended: (() => void) | null = null;
          const endedPromise = new Promise<void>((resolve) => {
            ended = resolve;
          });
          const live = liveLogs.follow(
            id,
            stream,
            (chunk) => out.write(chunk),
            () => ended!(),
          );
          if (live) {
            out.write(live.tail);
            if (!follow) {
              live.unsubscribe();
              return out.end();
            }
            await endedPromise;
            live.unsubscribe();
            return out.end();
          }
          if (!follow) return out.end();
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      };
      pump().catch((error: unknown) => out.destroy(error as Error));
      return reply.send(out);
    },
  );
}
