import { PassThrough, type Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { drained } from '../../drained.js';
import { tailFile, type RunningLogs } from '../../executor/runningLogs.js';
import type { BlobStore } from '../../storage/BlobStore.js';
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

/** Copies `source` to `out` with backpressure, leaving out its first `skip` bytes. */
async function copyAfter(source: Readable, out: PassThrough, skip: number): Promise<void> {
  let seen = 0;
  try {
    for await (const raw of source) {
      if (out.destroyed) break;
      let chunk = raw as Buffer;
      if (seen < skip) {
        const drop = Math.min(skip - seen, chunk.length);
        seen += drop;
        chunk = chunk.subarray(drop);
      }
      if (chunk.length > 0 && !out.write(chunk)) await drained(out);
    }
  } finally {
    source.destroy();
  }
}

/**
 * A finished job's log comes from the blob store. A running job's comes from the live
 * file its executor writes (RunningLogs), from its first byte, whichever process on
 * this host runs it; once the job is recorded, what the live file did not give (the
 * tail of a log over its cap, or bytes written after the follower stopped) is sent
 * from the stored log, which begins with the same bytes. Bytes pass through
 * untouched: never decoded.
 */
export function registerLogRoutes(
  app: Api,
  jobs: JobService,
  running: RunningLogs,
  store: BlobStore,
): void {
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
      const job = await jobs.get(id);
      void reply.type('text/plain; charset=utf-8');
      const out = new PassThrough();
      reply.raw.on('close', () => out.destroy());

      const pump = async () => {
        // The attempt whose output was sent, and how many of its bytes.
        let attempt = 0;
        let sent = 0;
        for (let now = job; !out.destroyed; now = await jobs.get(id)) {
          if (FINAL_STATUSES.has(now.status)) {
            const blob = now.result?.[stream].blob;
            const skip = now.attempts === attempt ? sent : 0;
            if (blob) await copyAfter(await store.openDecompressed(blob), out, skip);
            return;
          }
          if (now.status === 'running') {
            if (now.attempts !== attempt) {
              attempt = now.attempts;
              sent = 0;
            }
            const file = await running.find(id, attempt, stream);
            if (file) {
              const current = attempt;
              const stillRunning = async () => {
                const latest = await jobs.get(id);
                return latest.status === 'running' && latest.attempts === current;
              };
              sent += await tailFile(file, sent, out, follow ? stillRunning : async () => false);
            }
          }
          if (!follow) return;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      };
      pump().then(
        () => {
          if (!out.destroyed) out.end();
        },
        (error: unknown) => out.destroy(error as Error),
      );
      return reply.send(out);
    },
  );
}
