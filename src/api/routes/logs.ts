import { PassThrough, type Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { drained } from '../../drained.js';
import { tailFile, type RunningLogs } from '../../executor/runningLogs.js';
import type { Logger } from '../../log.js';
import type { RemoteLogs } from '../../nodes/remoteLogs.js';
import type { BlobStore } from '../../storage/BlobStore.js';
import { RunboxError } from '../../errors/index.js';
import type { JobService } from '../jobService.js';
import { FINAL_STATUSES, type JobView } from '../jobView.js';
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
/** A follower waits this long before asking an unreachable node again. */
const RETRY_REMOTE_MS = 1000;

const LiveLogParams = Type.Object(
  {
    id: Type.String({ maxLength: 64, description: 'A job id' }),
    attempt: Type.Integer({ minimum: 1, description: 'The attempt, as the job counts them' }),
  },
  { additionalProperties: false },
);

const LiveLogQuery = Type.Object(
  {
    stream: Type.Optional(
      Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], {
        description: 'default stdout',
      }),
    ),
    from: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Skip this many bytes (those already read)' }),
    ),
    follow: Type.Optional(
      Type.Boolean({ description: 'Stream live until the attempt stops running' }),
    ),
  },
  { additionalProperties: false },
);

/** What the logs route needs to follow jobs other nodes run. */
export interface NodeLogDeps {
  remote: RemoteLogs;
  log: Logger;
}

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

/** A check for followers: is attempt `attempt` of job `id` still the one running? */
function attemptRunning(jobs: JobService, id: string, attempt: number): () => Promise<boolean> {
  return async () => {
    const latest = await jobs.get(id);
    return latest.status === 'running' && latest.attempts === attempt;
  };
}

/**
 * Answers with the bytes `pump` writes, as text/plain, never decoded: the body ends
 * when pump resolves, fails when it throws, and pump sees `out` destroyed once the
 * client goes away.
 */
function streamReply<R>(
  reply: {
    type(contentType: string): unknown;
    raw: { on(event: 'close', fn: () => void): unknown };
    send(body: PassThrough): R;
  },
  pump: (out: PassThrough) => Promise<void>,
): R {
  void reply.type('text/plain; charset=utf-8');
  const out = new PassThrough();
  reply.raw.on('close', () => out.destroy());
  pump(out).then(
    () => {
      if (!out.destroyed) out.end();
    },
    (error: unknown) => out.destroy(error as Error),
  );
  return reply.send(out);
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
  nodes: NodeLogDeps | null = null,
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
      // A job running on another node, asked without follow: its bytes so far, or an
      // error naming the node when it cannot be asked (never an empty 200 that looks
      // like a silent job).
      const remoteNow =
        !follow &&
        nodes &&
        job.status === 'running' &&
        !(await running.find(id, job.attempts, stream))
          ? await nodes.remote.ownerOf(job)
          : null;
      if (remoteNow && nodes) {
        const at = { jobId: id, attempt: job.attempts, stream, from: 0, follow: false };
        if (!remoteNow.alive) {
          throw new RunboxError(
            'NodeUnreachable',
            `job ${id} runs on worker ${remoteNow.workerId}, which stopped heartbeating; its ` +
              'log is readable once its lease expires and it runs again, or it fails WorkerLost',
            { field: 'worker_id' },
          );
        }
        const body = await nodes.remote.open(remoteNow, at);
        void reply.type('text/plain; charset=utf-8');
        return reply.send(body);
      }
      if (FINAL_STATUSES.has(job.status)) {
        // Opened before the answer starts: a store that cannot be read (S3 down) answers
        // its typed error, where a failure inside the text/plain stream was a bare 500.
        const blob = job.result?.[stream].blob;
        const source = blob ? await store.openDecompressed(blob) : null;
        return streamReply(reply, async (out) => {
          if (source) await copyAfter(source, out, 0);
        });
      }
      return streamReply(reply, async (out) => {
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
              const stillRunning = attemptRunning(jobs, id, attempt);
              sent += await tailFile(file, sent, out, follow ? stillRunning : async () => false);
            } else if (follow && nodes) {
              sent += await followRemote(
                nodes,
                now,
                stream,
                sent,
                out,
                attemptRunning(jobs, id, attempt),
              );
            }
          }
          if (!follow) return;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      });
    },
  );
}

/**
 * Follows attempt `job.attempts` on the node that runs it, from byte `from`; resolves
 * with the bytes passed on. An unreachable or dead node is not an error for a follower:
 * it waits (RETRY_REMOTE_MS) and the caller asks the database again, where the attempt
 * ends, or is requeued when the node's lease expires and then runs somewhere else.
 */
async function followRemote(
  nodes: NodeLogDeps,
  job: JobView,
  stream: 'stdout' | 'stderr',
  from: number,
  out: PassThrough,
  attemptRunning: () => Promise<boolean>,
): Promise<number> {
  const owner = await nodes.remote.ownerOf(job);
  if (!owner) return 0;
  const stillHeld = async () => {
    if (!(await attemptRunning())) return false;
    const now = await nodes.remote.ownerOf({ status: 'running', worker_id: owner.workerId });
    return now?.alive ?? false;
  };
  if (!owner.alive) {
    await new Promise((resolve) => setTimeout(resolve, RETRY_REMOTE_MS));
    return 0;
  }
  const at = { jobId: job.id, attempt: job.attempts, stream, from, follow: true };
  let body;
  try {
    body = await nodes.remote.open(owner, at, stillHeld);
  } catch (error) {
    nodes.log.warn('following a log on another node failed; asking the database again', {
      job: job.id,
      error: error as Error,
    });
    await new Promise((resolve) => setTimeout(resolve, RETRY_REMOTE_MS));
    return 0;
  }
  return nodes.remote.copy(body, out, stillHeld);
}

/**
 * The live log of one attempt as this node has it, for another node following the job
 * (RemoteLogs): from byte `from` of the attempt's live file, followed while that attempt
 * runs. Never proxies further: a node without the attempt's file answers empty once the
 * attempt stops running (or at once without follow), and the asking node falls back on
 * the database and the stored log.
 */
export function registerLiveLogRoute(app: Api, jobs: JobService, running: RunningLogs): void {
  app.get(
    '/v1/jobs/:id/attempts/:attempt/live-log',
    {
      schema: {
        operationId: 'getLiveLog',
        summary: "One running attempt's live log on this node (node to node)",
        description:
          'What another node asks when a client follows there a job that runs here: the ' +
          "bytes of the attempt's live file from `from`, as written. Empty when this node " +
          'does not run that attempt. Clients use /v1/jobs/{id}/logs, which ends with the ' +
          'stored log.',
        tags: ['outputs'],
        params: LiveLogParams,
        querystring: LiveLogQuery,
        response: {
          200: Body('text/plain; charset=utf-8', 'The live bytes'),
          404: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id, attempt } = request.params;
      const { stream = 'stdout', from = 0, follow = false } = request.query;
      await jobs.get(id);
      const runs = attemptRunning(jobs, id, attempt);
      return streamReply(reply, async (out) => {
        for (;;) {
          const file = await running.find(id, attempt, stream);
          if (file) {
            await tailFile(file, from, out, follow ? runs : async () => false);
            return;
          }
          if (!follow || out.destroyed || !(await runs())) return;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      });
    },
  );
}
