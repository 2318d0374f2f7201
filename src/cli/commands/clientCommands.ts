import type { Argv, CommandModule } from 'yargs';
import {
  FINAL_STATUSES,
  MAX_JOB_PAGE,
  exitCodeOf,
  type JobStatus,
  type JobView,
  type ListedJobView,
} from '../../api/jobView.js';
import { RunboxError } from '../../errors/index.js';
import { drained } from '../../drained.js';
import { ANSWER_IDLE_MS, type ApiClient } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withData, withJobId, withJson, withServer } from '../flags.js';
import { buildSubmitRequest, withJobFlags, type JobFlagValues } from '../jobFlags.js';
import { remoteOrLocal, type JobPageView } from '../localJobs.js';
import { attemptBeginsLine, attemptsText, describeJob, shownText, table } from '../output.js';
import { spinner } from '../progress.js';

type Handler<T> = (args: T & GlobalFlags) => Promise<number>;

/** Wraps a handler so yargs passes its exit code back to runCli. */
export function command<T>(
  name: string,
  describe: string,
  builder: (y: Argv) => Argv<T>,
  handler: Handler<T>,
  setCode: (code: number) => void,
): CommandModule<object, T & GlobalFlags> {
  return {
    command: name,
    describe,
    builder: builder as never,
    handler: async (args) => setCode(await handler(args as unknown as T & GlobalFlags)),
  };
}

/**
 * Waits until the job is final, using the server's bounded wait in a loop, then reads it
 * whole once. The polls read the brief job: a job with 11 MB of inputs made each 5 s poll
 * 14.6 MB. A server older than the brief route answers it 404 naming the url; the
 * polls then read the whole job, as they did.
 */
export async function waitForJob(
  client: ApiClient,
  id: string,
  onStatus: (job: JobView) => void = () => {},
): Promise<JobView> {
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  let poll = `${path}/brief`;
  for (;;) {
    // A short server-side wait while queued, so a progress line sees `running` soon.
    const answer = await databaseAnswer(() =>
      client.json<JobView>('GET', `${poll}?wait=true&wait_seconds=5`),
    ).catch((error: unknown) => {
      if (poll !== path && error instanceof RunboxError && error.field === 'url') return null;
      throw error;
    });
    if (!answer) {
      poll = path;
      continue;
    }
    if (FINAL_STATUSES.has(answer.body.status)) {
      if (poll === path) return answer.body;
      return (await databaseAnswer(() => client.json<JobView>('GET', path))).body;
    }
    onStatus(answer.body);
  }
}

/** How often a waiting client asks again while the server's queue database is down. */
const DATABASE_RETRY_MS = 1000;

/**
 * A poll of a job being waited for, asked again while the server answers that its queue
 * database does not (503 StorageUnavailable, field queue.url): a 10 s restart of a
 * fleet's PostgreSQL ended every `submit --wait` with exit 69 while the job ran on and
 * its result was recorded once the database answered.
 */
async function databaseAnswer<T>(ask: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      const down =
        error instanceof RunboxError &&
        error.type === 'StorageUnavailable' &&
        error.field === 'queue.url';
      if (!down) throw error;
      await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
    }
  }
}

/** How long a follower waits by default for a server that went away to answer again. */
export const DEFAULT_RECONNECT_SECONDS = 60;
/** How often a follower knocks while the server is away. */
const RECONNECT_RETRY_MS = 500;

export interface FollowOptions {
  /**
   * Where notices go (the start of each later attempt, the server away and back), or
   * null: of a job's two followed streams, one speaks.
   */
  notice: ((line: string) => void) | null;
  /** Give up (ServerUnavailable, 69) when the server has not answered for this long. */
  reconnectSeconds: number;
}

/**
 * Streams one log stream of a job to a writable until the job ends. A follower asks
 * attempt by attempt (`attempt`, `from`), so it knows where each later attempt begins
 * (said through `notice`, never in the job's bytes) and, when the server goes away
 * (restarted, killed), waits for it and resumes from the byte it reached.
 */
export async function streamLogs(
  client: ApiClient,
  id: string,
  stream: 'stdout' | 'stderr',
  follow: boolean,
  to: NodeJS.WritableStream,
  options?: FollowOptions,
): Promise<void> {
  const again = `run \`runbox logs ${id}${stream === 'stderr' ? ' --stderr' : ''}${follow ? ' -f' : ''}\` again: it starts from the first byte`;
  if (!follow || !options) {
    const response = await client.fetchOk(
      `/v1/jobs/${encodeURIComponent(id)}/logs?stream=${stream}&follow=${follow}`,
    );
    // Bytes are written as they come, never decoded: a character split across two
    // chunks stays whole, and output that is not UTF-8 at all passes through as is.
    // A finished answer, bounded as a JSON call's is: silent past the clock, it is given
    // up. A follow is not: its job may print nothing for hours, and the server sends
    // nothing meanwhile.
    const idleMs = follow ? null : ANSWER_IDLE_MS;
    await writeChunks(client.chunks(response, `job ${id}'s ${stream}`, again, idleMs), to);
    return;
  }
  const jobPath = `/v1/jobs/${encodeURIComponent(id)}`;
  const away = new ServerAway(options, again);
  // Not ridden out: a server never reached is not one that went away (and a job it does
  // not know is read from the local database).
  const job = await databaseAnswer(() => client.json<JobView>('GET', jobPath));
  const first = Math.max(job.body.attempts, 1);
  let attempt = first;
  let from = 0;
  let marked = attempt === first;
  let legacy = false;
  const mark = () => {
    if (marked) return;
    marked = true;
    options.notice?.(attemptBeginsLine(id, attempt));
  };
  for (;;) {
    const written = await away.ride(async () => {
      const response = await client
        .fetchOk(`${jobPath}/logs?stream=${stream}&follow=true&attempt=${attempt}&from=${from}`)
        .catch((error: unknown) => {
          if (!olderServer(error)) throw error;
          // A server from before attempt= (a fleet mid-upgrade): followed as it follows,
          // every attempt from its first byte, with no marks and no resume.
          return client.fetchOk(`${jobPath}/logs?stream=${stream}&follow=true`).then((plain) => {
            legacy = true;
            return plain;
          });
        });
      const chunks = client.chunks(response, `job ${id}'s ${stream}`, again);
      const counted = async function* () {
        for await (const chunk of chunks) {
          mark();
          from += chunk.length;
          yield chunk;
        }
      };
      return writeChunks(counted(), to);
    });
    if (!written || legacy) return;
    const now = (await away.ride(() => databaseAnswer(() => client.json<JobView>('GET', jobPath))))
      .body;
    if (now.attempts >= attempt) mark();
    if (FINAL_STATUSES.has(now.status) && now.attempts <= attempt) return;
    // Each attempt in turn, never the job's latest at once: one that began and ended
    // while this follower was not looking (a loaded machine, a retry with no backoff)
    // has its bytes and its mark too, from its stored log while the job keeps it.
    attempt += 1;
    from = 0;
    marked = false;
  }
}

/** The 400 a server that predates `attempt=`/`from=` on the logs route answers them with. */
function olderServer(error: unknown): boolean {
  return (
    error instanceof RunboxError &&
    error.type === 'InvalidSpec' &&
    /^querystring\.(attempt|from)$/.test(error.field ?? '')
  );
}

/**
 * A follower's view of a server that went away: each request is asked again until it
 * answers or `reconnectSeconds` have passed without an answer, saying once that it waits
 * and once that the server is back. A restart of `runbox serve` cut every `logs -f`
 * (exit 69, "run it again: it starts from the first byte") while the job ran on.
 */
class ServerAway {
  private since: number | null = null;

  constructor(
    private readonly options: FollowOptions,
    private readonly again: string,
  ) {}

  async ride<T>(ask: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const answer = await ask();
        if (this.since !== null) {
          this.options.notice?.('runbox: the server answers again; following on from where it was');
          this.since = null;
        }
        return answer;
      } catch (error) {
        const gone = error instanceof RunboxError && error.type === 'ServerUnavailable';
        if (!gone) throw error;
        if (this.since === null) {
          this.since = Date.now();
          this.options.notice?.(
            `runbox: ${error.message.split('; ')[0]}; waiting up to ` +
              `${this.options.reconnectSeconds} s (--reconnect-seconds) for it to come back`,
          );
        } else if (Date.now() - this.since >= this.options.reconnectSeconds * 1000) {
          throw new RunboxError(
            'ServerUnavailable',
            `the runbox server did not answer for ${this.options.reconnectSeconds} s ` +
              `(--reconnect-seconds): ${error.message.split('; ')[0]}; ${this.again}`,
            { field: 'server', cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_RETRY_MS));
      }
    }
  }
}

/**
 * Writes chunks to `to` until they end or its reader goes away (`runbox logs ID | head`),
 * then stops reading; false when the reader went away. Unhandled, that EPIPE crashed
 * runbox with a stack trace.
 */
export async function writeChunks(
  chunks: AsyncIterable<Uint8Array>,
  to: NodeJS.WritableStream & { destroyed?: boolean },
): Promise<boolean> {
  const gone = readerGone(to);
  for await (const chunk of chunks) {
    if (gone.now || to.destroyed) return false;
    if (!to.write(chunk)) await drained(to);
  }
  return !gone.now && !to.destroyed;
}

const watched = new WeakMap<NodeJS.WritableStream, { now: boolean }>();

/**
 * Whether `to`'s reader went away, watched once per stream (a follower writes each
 * attempt's bytes with writeChunks). Left attached: a write still queued can fail after
 * the loop has ended.
 */
function readerGone(to: NodeJS.WritableStream): { now: boolean } {
  let gone = watched.get(to);
  if (!gone) {
    const flag = { now: false };
    to.on('error', () => {
      flag.now = true;
    });
    watched.set(to, flag);
    gone = flag;
  }
  return gone;
}

const LOCAL_FALLBACK =
  'Without --server (or RUNBOX_SERVER), a job the default server does not know, or any ' +
  'job while no server runs, is read from the local database: the jobs `runbox run` ' +
  'recorded.';

// `runbox worker` processes register in the database with no server in front of them:
// `workers --data-dir D` was refused as a usage error while `ls` and `status` took it.
const LOCAL_WORKERS =
  'A worker is dead after 30 s without a heartbeat. Without --server (or RUNBOX_SERVER), ' +
  'while no server runs, the workers are read from the local database (--data-dir, --db ' +
  'or --queue): the `runbox worker` processes on it.';

export function clientCommands(
  ctx: CliContext,
  setCode: (code: number) => void,
): CommandModule<object, never>[] {
  const { io } = ctx;
  const json = (value: unknown) => io.out(JSON.stringify(value, null, 2));
  const cmds = [
    command<JobFlagValues & { wait?: boolean; follow?: boolean }>(
      'submit [script]',
      'Submit a job to a running server',
      (y) =>
        withJson(withServer(withJobFlags(y)))
          .option('wait', {
            type: 'boolean',
            describe: 'Wait for the job to end; exit with its code',
          })
          .option('follow', {
            type: 'boolean',
            describe: 'Stream its stdout/stderr live, then wait',
          }) as never,
      async (args) => {
        const client = ctx.client(args);
        const request = buildSubmitRequest(args);
        const { status, body: job } = await client.json<JobView>('POST', '/v1/jobs', request, 'id');
        if (!args.wait && !args.follow) {
          if (args.json) json(job);
          else
            io.out(status === 200 ? `${job.id} (existing job for this idempotency key)` : job.id);
          return 0;
        }
        if (args.follow) {
          // With --json, stdout carries the one JSON document: the job's output goes to stderr.
          const follow = { reconnectSeconds: DEFAULT_RECONNECT_SECONDS };
          await Promise.all([
            streamLogs(client, job.id, 'stdout', true, args.json ? io.stderr : io.stdout, {
              ...follow,
              notice: (line) => io.err(line),
            }),
            streamLogs(client, job.id, 'stderr', true, io.stderr, { ...follow, notice: null }),
          ]);
        }
        const waiting = args.follow ? null : spinner(io, `job ${job.id} ${job.status}`);
        const final = await waitForJob(client, job.id, (now) =>
          waiting?.update(`job ${now.id} ${now.status}`),
        ).finally(() => waiting?.stop());
        if (args.json) json(final);
        else if (!args.follow) io.out(describeJob(final));
        else if (final.error)
          io.err(
            `runbox: job ${final.id} ${final.status}: ${final.error.type}: ${shownText(final.error.message)}`,
          );
        return exitCodeOf(final);
      },
      setCode,
    ),
    command<{ id: string }>(
      'status <id>',
      'Show one job (server, else the local database)',
      (y) => withJobId(withJson(withData(withServer(y)))).epilogue(LOCAL_FALLBACK) as never,
      async (args) => {
        const body = await remoteOrLocal(
          ctx,
          args,
          async (client) =>
            (
              await client.json<JobView>(
                'GET',
                `/v1/jobs/${encodeURIComponent(args.id)}`,
                undefined,
                'id',
              )
            ).body,
          async (local) => local.get(args.id),
        );
        if (args.json) json(body);
        else io.out(describeJob(body));
        return 0;
      },
      setCode,
    ),
    command<{ id: string; follow?: boolean; stderr?: boolean; reconnectSeconds?: number }>(
      'logs <id>',
      "Print a job's stdout (or --stderr); -f follows",
      (y) =>
        withJobId(withData(withServer(y)))
          .epilogue(LOCAL_FALLBACK)
          .option('follow', {
            alias: 'f',
            type: 'boolean',
            describe: 'Keep streaming until the job ends',
          })
          .option('stderr', {
            type: 'boolean',
            describe: "Print the job's stderr (still on stdout, so > file captures it)",
          })
          .option('reconnect-seconds', {
            type: 'number',
            default: DEFAULT_RECONNECT_SECONDS,
            describe: 'With -f: how long to wait for a server that went away (restarted)',
          }) as never,
      async (args) => {
        const stream = args.stderr ? 'stderr' : 'stdout';
        const follow = Boolean(args.follow);
        const reconnectSeconds = args.reconnectSeconds ?? DEFAULT_RECONNECT_SECONDS;
        if (!(reconnectSeconds >= 0)) {
          throw new RunboxError(
            'UsageError',
            '--reconnect-seconds takes a number of seconds of 0 or more, e.g. --reconnect-seconds 60',
            { field: 'reconnect-seconds' },
          );
        }
        const notice = (line: string) => io.err(line);
        await remoteOrLocal(
          ctx,
          args,
          (client) =>
            streamLogs(client, args.id, stream, follow, io.stdout, { notice, reconnectSeconds }),
          async (local) => {
            await writeChunks(
              (await local.logs(args.id, stream, follow)) as AsyncIterable<Uint8Array>,
              io.stdout,
            );
          },
        );
        return 0;
      },
      setCode,
    ),
    command<{
      status?: string;
      limit?: number;
      quiet?: boolean;
      all?: boolean;
      cursor?: string;
    }>(
      'ls',
      'List jobs, newest first (server, else local db)',
      (y) =>
        withJson(withData(withServer(y)))
          .epilogue(LOCAL_FALLBACK)
          .option('status', {
            choices: ['queued', 'running', 'succeeded', 'failed', 'cancelled'],
            describe: 'Only jobs in this state',
          })
          .option('limit', { type: 'number', default: 50, describe: 'Jobs per page' })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only job ids' })
          .option('all', { type: 'boolean', describe: 'Every page, not only the first' })
          .option('cursor', {
            type: 'string',
            describe: 'Start after this page (next_cursor of the last one)',
          })
          .conflicts('all', 'cursor') as never,
      async (args) => {
        const pages = async (next: (cursor: string | null) => Promise<JobPageView>) => {
          const jobs: ListedJobView[] = [];
          let cursor: string | null = args.cursor ?? null;
          do {
            const page = await next(cursor);
            jobs.push(...page.jobs);
            cursor = page.next_cursor;
          } while (args.all && cursor);
          return { jobs, next_cursor: cursor };
        };
        const limit = args.limit ?? 50;
        // The server refused --limit 0 or 5000 as InvalidSpec "querystring.limit" (65),
        // while the local database took them: a flag out of range is the command line's.
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_JOB_PAGE) {
          throw new RunboxError(
            'UsageError',
            `--limit takes a whole number of jobs per page from 1 to ${MAX_JOB_PAGE}, e.g. --limit 50 (see \`runbox ls --help\`)`,
            { field: 'limit' },
          );
        }
        const status = args.status as JobStatus | undefined;
        const body = await remoteOrLocal(
          ctx,
          args,
          (client) =>
            pages(async (cursor) => {
              const query = new URLSearchParams({ limit: String(limit) });
              if (status) query.set('status', status);
              if (cursor !== null) query.set('cursor', cursor);
              return (await client.json<JobPageView>('GET', `/v1/jobs?${query}`, undefined, 'jobs'))
                .body;
            }),
          (local) =>
            pages((cursor) =>
              local.list({
                limit,
                ...(status ? { status } : {}),
                ...(cursor !== null ? { cursor } : {}),
              }),
            ),
        );
        const cursor = body.next_cursor;
        const jobs = body.jobs;
        // On stderr, so `ls -q | xargs` sees ids only.
        if (cursor && !args.json) io.err(`more: runbox ls --cursor ${cursor} (or --all)`);
        if (args.json) json(body);
        else if (args.quiet) {
          if (jobs.length > 0) io.out(jobs.map((j) => j.id).join('\n'));
        } else {
          io.out(
            table([
              ['ID', 'STATUS', 'ATTEMPTS', 'CREATED', 'ERROR'],
              ...body.jobs.map((j) => [
                j.id,
                j.status,
                attemptsText(j),
                j.created_at,
                j.error?.type ?? '',
              ]),
            ]),
          );
        }
        return 0;
      },
      setCode,
    ),
    command<{ id: string }>(
      'cancel <id>',
      'Cancel a queued or running job',
      (y) => withJobId(withJson(withServer(y))) as never,
      async (args) => {
        const { body } = await ctx
          .client(args)
          .json<JobView>('POST', `/v1/jobs/${encodeURIComponent(args.id)}/cancel`, undefined, 'id');
        if (args.json) json(body);
        else
          io.out(
            `${body.id} ${body.status === 'running' ? 'cancel requested (the container is being stopped)' : body.status}`,
          );
        return 0;
      },
      setCode,
    ),
    command<object>(
      'queues',
      'List named queues: depth, running, workers',
      (y) => withJson(withServer(y)) as never,
      async (args) => {
        type Q = {
          name: string;
          queued: number;
          /** Absent from a server older than these two fields. */
          due?: number;
          scheduled?: number;
          running: number;
          oldest_due_at: string | null;
          workers: number;
          slots: number;
        };
        const { body } = await ctx
          .client(args)
          .json<{ queues: Q[] }>('GET', '/v1/queues', undefined, 'queues');
        if (args.json) json(body);
        else {
          io.out(
            table([
              // DUE apart from SCHEDULED (run_at ahead): QUEUED alone read as a backlog.
              [
                'QUEUE',
                'QUEUED',
                'DUE',
                'SCHEDULED',
                'RUNNING',
                'OLDEST WAITING SINCE',
                'WORKERS',
                'SLOTS',
              ],
              ...body.queues.map((q) => [
                q.name,
                String(q.queued),
                q.due === undefined ? '-' : String(q.due),
                q.scheduled === undefined ? '-' : String(q.scheduled),
                String(q.running),
                q.oldest_due_at ?? '-',
                String(q.workers),
                String(q.slots),
              ]),
            ]),
          );
        }
        return 0;
      },
      setCode,
    ),
    command<object>(
      'workers',
      'List workers (server, else local db)',
      (y) => withJson(withData(withServer(y))).epilogue(LOCAL_WORKERS) as never,
      async (args) => {
        type W = {
          id: string;
          host: string;
          pid: number;
          version: string;
          state: string;
          last_heartbeat_at: string;
          contract_version: string;
          queues: Record<string, number>;
          address: string | null;
        };
        const body = await remoteOrLocal(
          ctx,
          args,
          async (client) =>
            (await client.json<{ workers: W[] }>('GET', '/v1/workers', undefined, 'workers')).body,
          async (local) => ({ workers: await local.workers() }),
        );
        if (args.json) json(body);
        else {
          io.out(
            table([
              [
                'ID',
                'STATE',
                'HOST',
                'PID',
                'QUEUES',
                'ADDRESS',
                'VERSION',
                'CONTRACT',
                'LAST HEARTBEAT',
              ],
              ...body.workers.map((w) => [
                w.id,
                w.state,
                w.host,
                String(w.pid),
                // name:slots, as --queues takes them; - for a node that runs no jobs.
                Object.entries(w.queues)
                  .map(([name, slots]) => `${name}:${slots}`)
                  .join(',') || '-',
                w.address ?? '-',
                w.version,
                w.contract_version,
                w.last_heartbeat_at,
              ]),
            ]),
          );
        }
        return 0;
      },
      setCode,
    ),
  ];
  return cmds as unknown as CommandModule<object, never>[];
}
