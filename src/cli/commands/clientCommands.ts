import type { Argv, CommandModule } from 'yargs';
import { FINAL_STATUSES, exitCodeOf, type JobView } from '../../api/jobView.js';
import { drained } from '../../drained.js';
import type { ApiClient } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { buildSubmitRequest, withJobFlags, type JobFlagValues } from '../jobFlags.js';
import { describeJob, table } from '../output.js';

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

/** Waits until the job is final, using the server's bounded wait in a loop. */
export async function waitForJob(client: ApiClient, id: string): Promise<JobView> {
  for (;;) {
    const { body } = await client.json<JobView>(
      'GET',
      `/v1/jobs/${encodeURIComponent(id)}?wait=true&wait_seconds=30`,
    );
    if (FINAL_STATUSES.has(body.status)) return body;
  }
}

/** Streams one log stream of a job to a writable until the job ends. */
export async function streamLogs(
  client: ApiClient,
  id: string,
  stream: 'stdout' | 'stderr',
  follow: boolean,
  to: NodeJS.WritableStream,
): Promise<void> {
  const response = await client.fetchOk(
    `/v1/jobs/${encodeURIComponent(id)}/logs?stream=${stream}&follow=${follow}`,
  );
  if (!response.body) return;
  // Bytes are written as they come, never decoded: a character split across two
  // chunks stays whole, and output that is not UTF-8 at all passes through as is.
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (!to.write(chunk)) await drained(to);
  }
}

export function clientCommands(
  ctx: CliContext,
  setCode: (code: number) => void,
): CommandModule<object, never>[] {
  const { io } = ctx;
  const json = (value: unknown) => io.out(JSON.stringify(value, null, 2));
  const cmds = [
    command<JobFlagValues & { wait?: boolean; follow?: boolean }>(
      'submit <script>',
      'Submit a job to a running server',
      (y) =>
        withJobFlags(y)
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
        const { status, body: job } = await client.json<JobView>('POST', '/v1/jobs', request);
        if (!args.wait && !args.follow) {
          if (args.json) json(job);
          else
            io.out(status === 200 ? `${job.id} (existing job for this idempotency key)` : job.id);
          return 0;
        }
        if (args.follow) {
          await Promise.all([
            streamLogs(client, job.id, 'stdout', true, io.stdout),
            streamLogs(client, job.id, 'stderr', true, io.stderr),
          ]);
        }
        const final = await waitForJob(client, job.id);
        if (args.json) json(final);
        else if (!args.follow) io.out(describeJob(final));
        else if (final.error)
          io.err(
            `runbox: job ${final.id} ${final.status}: ${final.error.type}: ${final.error.message}`,
          );
        return exitCodeOf(final);
      },
      setCode,
    ),
    command<{ id: string }>(
      'status <id>',
      'Show one job',
      (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
      async (args) => {
        const { body } = await ctx
          .client(args)
          .json<JobView>('GET', `/v1/jobs/${encodeURIComponent(args.id)}`);
        if (args.json) json(body);
        else io.out(describeJob(body));
        return 0;
      },
      setCode,
    ),
    command<{ id: string; follow?: boolean; stderr?: boolean }>(
      'logs <id>',
      "Print a job's stdout (or --stderr); -f follows a running job",
      (y) =>
        y
          .positional('id', { type: 'string', demandOption: true })
          .option('follow', {
            alias: 'f',
            type: 'boolean',
            describe: 'Keep streaming until the job ends',
          })
          .option('stderr', {
            type: 'boolean',
            describe: 'Print stderr instead of stdout',
          }) as never,
      async (args) => {
        const stream = args.stderr ? 'stderr' : 'stdout';
        await streamLogs(
          ctx.client(args),
          args.id,
          stream,
          Boolean(args.follow),
          stream === 'stderr' ? io.stderr : io.stdout,
        );
        return 0;
      },
      setCode,
    ),
    command<{ status?: string; limit?: number }>(
      'ls',
      'List jobs, newest first',
      (y) =>
        y
          .option('status', { choices: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
          .option('limit', { type: 'number', default: 50 }) as never,
      async (args) => {
        const query = new URLSearchParams({ limit: String(args.limit ?? 50) });
        if (args.status) query.set('status', args.status);
        const { body } = await ctx
          .client(args)
          .json<{ jobs: JobView[]; next_cursor: string | null }>('GET', `/v1/jobs?${query}`);
        if (args.json) json(body);
        else {
          io.out(
            table([
              ['ID', 'STATUS', 'ATTEMPTS', 'CREATED', 'ERROR'],
              ...body.jobs.map((j) => [
                j.id,
                j.status,
                `${j.attempts}/${j.max_attempts}`,
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
      (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
      async (args) => {
        const { body } = await ctx
          .client(args)
          .json<JobView>('POST', `/v1/jobs/${encodeURIComponent(args.id)}/cancel`);
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
      'workers',
      'List registered workers: alive, or dead after 30 s without a heartbeat',
      (y) => y as never,
      async (args) => {
        type W = {
          id: string;
          host: string;
          pid: number;
          version: string;
          state: string;
          last_heartbeat_at: string;
          contract_version: string;
        };
        const { body } = await ctx.client(args).json<{ workers: W[] }>('GET', '/v1/workers');
        if (args.json) json(body);
        else {
          io.out(
            table([
              ['ID', 'STATE', 'HOST', 'PID', 'VERSION', 'CONTRACT', 'LAST HEARTBEAT'],
              ...body.workers.map((w) => [
                w.id,
                w.state,
                w.host,
                String(w.pid),
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
