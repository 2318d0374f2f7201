import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { Text } from '../../spec/textSchema.js';
import { drained } from '../../drained.js';
import { tailFile, type RunningLogs } from '../../executor/runningLogs.js';
import type { Logger } from '../../log.js';
import type { RemoteLogs } from '../../nodes/remoteLogs.js';
import type { BlobStore, ByteRange } from '../../storage/BlobStore.js';
import { RunboxError } from '../../errors/index.js';
import type { JobService } from '../jobService.js';
import { missingBlobHint, withMissingHint } from '../missingBlob.js';
import { FINAL_STATUSES, type JobView } from '../jobView.js';
import { Body, ErrorBodySchema, IdParams, NoBody } from '../schemas.js';
import {
  ConditionalHeaders,
  RANGE_HEADERS,
  STORED_HEADERS,
  UNSATISFIABLE_HEADERS,
  bodyOf,
  sendStoredBytes,
  type StoredBytes,
} from '../storedBytes.js';
import { BlobFacts, isUtf8Stream } from '../blobFacts.js';
import type { Api } from '../typeProvider.js';

const LogsQuery = Type.Object(
  {
    stream: Type.Optional(
      Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], {
        description: 'default stdout',
      }),
    ),
    follow: Type.Optional(Type.Boolean({ description: 'Stream live until the job ends' })),
    attempt: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'With follow=true: only this attempt, ending once it has ended, its stored log ' +
          'while the job keeps it (empty once a later attempt has recorded its own); what a ' +
          'follower asks to mark attempts and to resume',
      }),
    ),
    from: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'With attempt: skip this many bytes of it (those already read)',
      }),
    ),
  },
  { additionalProperties: false },
);

const POLL_MS = 100;
/** A follower waits this long before asking an unreachable node again. */
const RETRY_REMOTE_MS = 1000;

const LiveLogParams = Type.Object(
  {
    id: Text({ maxLength: 64, description: 'A job id' }),
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
function attemptRunning(
  jobs: JobService,
  id: string,
  attempt: number,
  follower?: PassThrough,
): () => Promise<boolean> {
  return async () => {
    const latest = follower ? await jobForFollower(jobs, id, follower) : await jobs.get(id);
    return latest.status === 'running' && latest.attempts === attempt;
  };
}

/**
 * A job as a follower's loop reads it: while the queue database does not answer
 * (StorageUnavailable: PostgreSQL restarting, failing over) it is asked again each
 * RETRY_REMOTE_MS as long as the client stays. A 10 s restart of the shared database cut
 * every `logs -f` on every node of a fleet (exit 69, "run it again: it starts from the
 * first byte") while the jobs themselves ran on and kept their results.
 */
async function jobForFollower(jobs: JobService, id: string, out: PassThrough): Promise<JobView> {
  for (;;) {
    try {
      return await jobs.get(id);
    } catch (error) {
      if (!(error instanceof RunboxError && error.type === 'StorageUnavailable')) throw error;
      if (out.destroyed) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_REMOTE_MS));
    }
  }
}

/**
 * Live bytes claim no charset: they are not all known when the headers go, and a job
 * may write anything. A stored log says UTF-8 only when it is (storedLog).
 */
const LIVE_TYPE = 'text/plain';
const UTF8_TYPE = 'text/plain; charset=utf-8';
const EMPTY_SHA256 = createHash('sha256').digest('hex');

interface LogFacts {
  /** Bytes stored (a cut log's, not the job's count). */
  size: number;
  utf8: boolean;
}

/**
 * Answers with the bytes `pump` writes, as text/plain, never decoded: the body ends
 * when pump resolves, fails when it throws, and pump sees `out` destroyed once the
 * client goes away. A HEAD never starts the pump, as bodyOf never opens a body.
 */
function streamReply<R>(
  request: { method: string },
  reply: {
    type(contentType: string): unknown;
    raw: { on(event: 'close', fn: () => void): unknown };
    send(body: Readable): R;
  },
  pump: (out: PassThrough) => Promise<void>,
): R {
  void reply.type(LIVE_TYPE);
  if (request.method === 'HEAD') return reply.send(Readable.from([]));
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
 * A finished job's log as a stored representation: its blob's sha256 is the ETag, and
 * Range, If-Range and If-None-Match are read as for an output file. An empty log (no
 * blob) is the empty representation.
 */
async function storedLog(
  store: BlobStore,
  known: BlobFacts<LogFacts>,
  id: string,
  stream: 'stdout' | 'stderr',
  blob: string | null,
  hint: string,
): Promise<StoredBytes> {
  const log = { noun: 'log', compressed: null };
  if (blob === null) {
    return {
      ...log,
      sha256: EMPTY_SHA256,
      size: 0,
      type: UTF8_TYPE,
      open: async () => Readable.from([]),
    };
  }
  const open = (range?: ByteRange) => withMissingHint(store.openDecompressed(blob, range), hint);
  // The stored size is not in the result (a cut log's bytes count what the job wrote),
  // and stat walks every frame's blocks: both facts are worked out once per blob.
  const facts = await known.of(blob, async () => {
    const stat = await statStored(store, id, stream, blob, hint);
    return { size: stat.size, utf8: await isUtf8Stream(await open()) };
  });
  return { ...log, sha256: blob, size: facts.size, type: facts.utf8 ? UTF8_TYPE : LIVE_TYPE, open };
}

/** A stored log's blob, or NotFound saying whether it is gone or on another node. */
async function statStored(
  store: BlobStore,
  id: string,
  stream: 'stdout' | 'stderr',
  blob: string,
  hint: string,
): Promise<{ size: number }> {
  const stat = await store.stat(blob);
  if (stat) return stat;
  throw new RunboxError(
    'NotFound',
    hint === ''
      ? `job ${id}'s ${stream} is no longer stored (blob ${blob})`
      : `job ${id}'s ${stream} (blob ${blob}) is not on this node${hint}`,
    { field: 'stream' },
  );
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
  const known = new BlobFacts<LogFacts>();
  const hint = missingBlobHint(store, nodes !== null);
  app.get(
    '/v1/jobs/:id/logs',
    {
      schema: {
        operationId: 'getJobLogs',
        summary: "A job's stdout or stderr; follow=true streams until it ends",
        description:
          'The bytes the job wrote, as they are: text/plain with charset=utf-8 only when a ' +
          "finished job's stored log is valid UTF-8, without a charset otherwise (a running " +
          "job's live bytes too). Over limits.log_bytes the stored log is that long: the " +
          "head and the tail around a marked cut. A finished job's log has an ETag and " +
          'answers one Range (If-Range, If-None-Match) as an output file does; a running ' +
          "job's log ignores them (200, the bytes so far).",
        tags: ['outputs'],
        params: IdParams,
        querystring: LogsQuery,
        headers: Type.Object(ConditionalHeaders),
        response: {
          200: Body('text/plain', 'The log bytes'),
          206: Body('text/plain', 'The requested range of a stored log'),
          304: NoBody('Not modified: If-None-Match names this ETag'),
          404: ErrorBodySchema,
          416: ErrorBodySchema,
        },
        responseHeaders: {
          200: STORED_HEADERS,
          206: { ...STORED_HEADERS, ...RANGE_HEADERS },
          304: STORED_HEADERS,
          416: UNSATISFIABLE_HEADERS,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { stream = 'stdout', follow = false, attempt: only, from = 0 } = request.query;
      const job = await jobs.get(id);
      if (follow && only !== undefined) {
        // A final job's last attempt is its stored log: a node that does not have it
        // (blobs on each node's own disk) says so before streaming, as without follow,
        // where a failure inside the stream was a 500 the follower retried for a minute.
        const blob = job.attempts === only ? job.result?.[stream].blob : null;
        if (FINAL_STATUSES.has(job.status) && blob) {
          await statStored(store, id, stream, blob, hint);
        }
        return streamReply(request, reply, (out) =>
          followAttempt(jobs, running, store, nodes, job, only, stream, from, out),
        );
      }
      if (FINAL_STATUSES.has(job.status)) {
        const blob = job.result?.[stream].blob ?? null;
        return sendStoredBytes(
          request,
          reply,
          await storedLog(store, known, id, stream, blob, hint),
        );
      }
      // A job running on another node, asked without follow: its bytes so far, or an
      // error naming the node when it cannot be asked (never an empty 200 that looks
      // like a silent job).
      const elsewhere =
        !follow &&
        nodes &&
        job.status === 'running' &&
        !(await running.find(id, job.attempts, stream));
      const remoteNow = elsewhere ? await nodes.remote.ownerOf(job) : null;
      // Without an address nobody can be asked (a `runbox worker` on another machine).
      const unaddressed =
        elsewhere && !remoteNow ? await nodes.remote.unaddressedOwnerOf(job) : null;
      if (unaddressed) {
        throw new RunboxError(
          'NodeUnreachable',
          `job ${id} runs on worker ${unaddressed.id} on host ${unaddressed.host}, whose node ` +
            'advertises no address to read its live log from (set advertiseUrl, ' +
            '--advertise-url, there); its log is readable here once the attempt ends, and ' +
            'logs -f follows it to the end',
          { field: 'worker_id' },
        );
      }
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
        const body = await bodyOf(request, () => nodes.remote.open(remoteNow, at));
        void reply.type(LIVE_TYPE);
        return reply.send(body);
      }
      if (follow) {
        return streamReply(request, reply, (out) =>
          followEvery(jobs, running, store, nodes, job, stream, out),
        );
      }
      // Not following: the running attempt's bytes so far, when this host has them.
      return streamReply(request, reply, async (out) => {
        const file = job.status === 'running' ? await running.find(id, job.attempts, stream) : null;
        if (file) await tailFile(file, 0, out, () => false);
      });
    },
  );
}

/**
 * The plain follow: every attempt from the job's latest to its last, each from its first
 * byte, in order (followAttempt each in turn), so none that began and ended between two
 * looks is skipped while the job keeps its log.
 */
async function followEvery(
  jobs: JobService,
  running: RunningLogs,
  store: BlobStore,
  nodes: NodeLogDeps | null,
  first: JobView,
  stream: 'stdout' | 'stderr',
  out: PassThrough,
): Promise<void> {
  let now = first;
  for (let attempt = Math.max(first.attempts, 1); !out.destroyed; attempt++) {
    await followAttempt(jobs, running, store, nodes, now, attempt, stream, 0, out);
    if (out.destroyed) return;
    now = await jobForFollower(jobs, first.id, out);
    if (FINAL_STATUSES.has(now.status) && now.attempts <= attempt) return;
  }
}

/**
 * Follows one attempt of a job from byte `from` until that attempt has ended: its live
 * bytes while it runs (here or on another node), then the rest from its stored log: the
 * job's result while that is still this attempt's (recordedAttempt). A client that asks
 * attempt by attempt knows where each begins (the CLI marks it on stderr) and, cut off,
 * asks again from the byte it reached. An attempt that began and ended between two looks
 * (100 ms apart) is sent from its stored log alone. Empty once the job holds a later
 * attempt's result, or none of this one's (a lost attempt): an earlier attempt's log is
 * not kept.
 */
async function followAttempt(
  jobs: JobService,
  running: RunningLogs,
  store: BlobStore,
  nodes: NodeLogDeps | null,
  first: JobView,
  attempt: number,
  stream: 'stdout' | 'stderr',
  from: number,
  out: PassThrough,
): Promise<void> {
  let sent = 0;
  for (let now = first; !out.destroyed; now = await jobForFollower(jobs, first.id, out)) {
    const final = FINAL_STATUSES.has(now.status);
    if (final && now.attempts < attempt) return;
    if (now.attempts > attempt || (now.attempts === attempt && now.status !== 'running')) {
      // A final job's result is its stored log, as `runbox logs` prints it.
      if (final) {
        const blob = now.attempts === attempt ? now.result?.[stream].blob : null;
        if (blob) await copyAfter(await store.openDecompressed(blob), out, from + sent);
        return;
      }
      const blob = recordedAttempt(now) === attempt ? now.result?.[stream].blob : null;
      // With blobs on each node's own disk, only the node that ran the attempt has its
      // log: this one sent what it had, and the follow goes on with the next attempt.
      const source = blob ? await store.openDecompressed(blob).catch(notHere) : null;
      if (source) await copyAfter(source, out, from + sent);
      return;
    }
    if (now.attempts === attempt) {
      const stillRunning = attemptRunning(jobs, first.id, attempt, out);
      const file = await running.find(first.id, attempt, stream);
      if (file) sent += await tailFile(file, from + sent, out, stillRunning);
      else if (nodes)
        sent += await followRemote(nodes, now, stream, from + sent, out, stillRunning);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Null for a blob this node's store does not have; other failures stand. */
function notHere(error: unknown): null {
  if (error instanceof RunboxError && error.type === 'NotFound') return null;
  throw error;
}

/**
 * The attempt whose result a job that is not final holds, or null. A retried attempt
 * is recorded with its own error as the job's; a lost or released one sets the job's
 * error alone (WorkerLost, a drain's reason) and leaves the result before it, and a
 * claim changes neither: so a result whose error is the job's is the last attempt that
 * ended, the one before the running one.
 */
function recordedAttempt(job: JobView): number | null {
  const error = job.result?.error;
  if (!error || job.error?.type !== error.type || job.error.message !== error.message) {
    return null;
  }
  return job.status === 'running' ? job.attempts - 1 : job.attempts;
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
  // The registry is in the queue database too: while it does not answer, the caller's
  // loop waits for it (jobForFollower) and comes back here.
  const owner = await nodes.remote.ownerOf(job).catch((error: unknown) => {
    if (error instanceof RunboxError && error.type === 'StorageUnavailable') return null;
    throw error;
  });
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
          200: Body('text/plain', 'The live bytes'),
          404: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id, attempt } = request.params;
      const { stream = 'stdout', from = 0, follow = false } = request.query;
      await jobs.get(id);
      const runs = attemptRunning(jobs, id, attempt);
      return streamReply(request, reply, async (out) => {
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
