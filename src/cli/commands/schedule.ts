import { RunboxError } from '../../errors/index.js';
import type { Argv, CommandModule } from 'yargs';
import type { ScheduleView } from '../../schedules/ScheduleService.js';
import type { CliContext } from '../context.js';
import { withJson, withServer } from '../flags.js';
import { buildSubmitRequest, withJobFlags, type JobFlagValues } from '../jobFlags.js';
import { table } from '../output.js';
import { command } from './clientCommands.js';

type AddFlags = JobFlagValues & {
  name: string;
  cron: string;
  tz?: string;
  catchUp?: 'skip' | 'once';
};

/**
 * `runbox schedule add|ls|rm|pause|resume`: recurring jobs kept by the server (README
 * "Schedules"). `add` takes the same job flags as `submit`; the script is read now and
 * stored with the schedule, so later edits of the file change nothing.
 */
export function scheduleCommand(
  ctx: CliContext,
  setCode: (code: number) => void,
): CommandModule<object, never> {
  const { io } = ctx;
  const json = (value: unknown) => io.out(JSON.stringify(value, null, 2));
  const path = (name: string) => `/v1/schedules/${encodeURIComponent(name)}`;
  const describe = (s: ScheduleView) =>
    `${s.name}: ${s.cron} (${s.timezone}, catch-up ${s.catch_up})` +
    // A paused schedule's stored due time is not its next one: resume picks the first
    // due time after the resume.
    (s.paused ? ' paused (resume runs it from its next due time)' : `, next ${s.next_fire_at}`);
  const byName = (
    verb: 'rm' | 'pause' | 'resume',
    about: string,
    request: (name: string) => [string, string],
  ) =>
    command<{ name: string }>(
      `${verb} <name>`,
      about,
      (y) =>
        withJson(withServer(y)).positional('name', { type: 'string', demandOption: true }) as never,
      async (args) => {
        const [method, url] = request(args.name);
        const { body } = await ctx.client(args).json<ScheduleView>(method, url);
        if (args.json) json(body);
        else io.out(verb === 'rm' ? `removed ${body.name}` : describe(body));
        return 0;
      },
      setCode,
    );
  const subcommands = [
    command<AddFlags>(
      'add <name> [script]',
      'Add a schedule: the job (script and job flags as for submit) runs at each due time',
      (y) =>
        withJson(withServer(withJobFlags(y)))
          .positional('name', {
            type: 'string',
            demandOption: true,
            describe: 'Schedule name (ASCII letters, digits, . - _)',
          })
          .option('cron', {
            type: 'string',
            demandOption: true,
            describe:
              'Cron expression: "*/5 * * * *" (or 6 fields, seconds first, or @hourly, @daily, ...)',
          })
          .option('tz', {
            // The API and its errors call it timezone.
            alias: 'timezone',
            type: 'string',
            describe: 'IANA time zone of the cron fields (default UTC)',
          })
          .option('catch-up', {
            choices: ['skip', 'once'] as const,
            describe: 'Due times missed while no server ran: skip (default) or run once',
          })
          // Still parsed, so the handler can say why they do not apply, but not offered.
          .hide('delay')
          .hide('run-at')
          .hide('idempotency-key') as never,
      async (args) => {
        // Job flags that say when or how often one job runs mean nothing for a schedule,
        // whose every fire is a new job at its due time; the server's refusal named
        // job.run_at, a field the user never typed.
        for (const [flag, value] of [
          ['--delay', args.delay],
          ['--run-at', args.runAt],
          ['--idempotency-key', args.idempotencyKey],
        ] as const) {
          if (value !== undefined) {
            throw new RunboxError(
              'UsageError',
              `${flag} does not apply to a schedule: each due time runs a new job then; leave it out`,
              { field: flag.slice(2) },
            );
          }
        }
        const job = buildSubmitRequest(args);
        const { body } = await ctx.client(args).json<ScheduleView>('POST', '/v1/schedules', {
          name: args.name,
          cron: args.cron,
          ...(args.tz ? { timezone: args.tz } : {}),
          ...(args.catchUp ? { catch_up: args.catchUp } : {}),
          job,
        });
        if (args.json) json(body);
        else io.out(describe(body));
        return 0;
      },
      setCode,
    ),
    command<object>(
      'ls',
      'List schedules',
      (y) => withJson(withServer(y)) as never,
      async (args) => {
        // Every page: ls lists all schedules, however many the server pages them into.
        const schedules: ScheduleView[] = [];
        let cursor: string | null = null;
        do {
          const query = new URLSearchParams({ limit: '1000' });
          if (cursor) query.set('cursor', cursor);
          const page: { body: { schedules: ScheduleView[]; next_cursor: string | null } } =
            await ctx.client(args).json('GET', `/v1/schedules?${query}`);
          schedules.push(...page.body.schedules);
          cursor = page.body.next_cursor;
        } while (cursor);
        const body = { schedules };
        if (args.json) json(body);
        else
          io.out(
            table([
              ['NAME', 'CRON', 'TIMEZONE', 'CATCH-UP', 'STATE', 'NEXT', 'LAST JOB', 'ERROR'],
              ...body.schedules.map((s) => [
                s.name,
                s.cron,
                s.timezone,
                s.catch_up,
                s.paused ? 'paused' : 'active',
                s.paused ? '-' : s.next_fire_at,
                s.last_job_id ?? '',
                s.last_error ?? '',
              ]),
            ]),
          );
        return 0;
      },
      setCode,
    ),
    byName('rm', 'Remove a schedule (jobs it enqueued stay)', (n) => ['DELETE', path(n)]),
    byName('pause', 'Pause a schedule', (n) => ['POST', `${path(n)}/pause`]),
    byName('resume', 'Resume a schedule (times passed while paused are skipped)', (n) => [
      'POST',
      `${path(n)}/resume`,
    ]),
  ];
  return {
    command: 'schedule <command>',
    describe: 'Recurring jobs: add, ls, rm, pause, resume',
    builder: (y: Argv) => {
      for (const sub of subcommands) y.command(sub as never);
      return y.demandCommand(1, 'give a schedule command');
    },
    handler: () => {},
  } as unknown as CommandModule<object, never>;
}
