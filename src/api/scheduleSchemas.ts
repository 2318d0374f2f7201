import { Type, type TSchema } from '@sinclair/typebox';
import { SubmitRequestSchema } from '../spec/jobSpecSchema.js';
import { Text } from '../spec/textSchema.js';

/** Requests and answers of /v1/schedules (README "Schedules"). */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = (description: string) => Type.String({ format: 'date-time', description });

const CatchUpSchema = Type.Union([Type.Literal('skip'), Type.Literal('once')], {
  description:
    'Due times missed while no runbox ran: skip (default; a time found up to ' +
    'schedules.graceMs late still fires) or once (one job for the latest missed time)',
});

/**
 * One schema for a name in a body and in a path: the path's once said 200 characters,
 * while a name has at most 64 (ScheduleService's NAME), so a client generated from the
 * document accepted names the server could never hold.
 */
const ScheduleNameSchema = Text({
  minLength: 1,
  maxLength: 64,
  description: 'ASCII letters, digits, . - _',
});

export const ScheduleRequestSchema = Type.Object(
  {
    name: ScheduleNameSchema,
    cron: Text({
      minLength: 1,
      maxLength: 200,
      description:
        '5 fields (minute hour day month weekday), 6 with seconds first, or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    }),
    timezone: Type.Optional(
      Text({ minLength: 1, maxLength: 64, description: 'IANA zone (default UTC)' }),
    ),
    catch_up: Type.Optional(CatchUpSchema),
    job: Type.Composite([SubmitRequestSchema], {
      additionalProperties: false,
      description: 'What each fire submits: a POST /v1/jobs body without idempotency_key, run_at',
    }),
  },
  { additionalProperties: false, $id: 'ScheduleRequest' },
);

export const ScheduleViewSchema = Type.Object(
  {
    name: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    catch_up: CatchUpSchema,
    paused: Type.Boolean(),
    next_fire_at: Time('Next due time (while paused: the one it had)'),
    last_fired_at: Nullable(Time('Due time of the last job it enqueued')),
    last_job_id: Nullable(Type.String()),
    last_error: Nullable(
      Type.String({ description: 'Why its last due time enqueued nothing, if it did not' }),
    ),
    created_at: Time('When it was added'),
    updated_at: Time('Last change'),
    job: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The job body each fire submits; secret env values redacted',
    }),
  },
  { additionalProperties: false, $id: 'Schedule' },
);

/**
 * A schedule in a page: its job's input files are listed without their content, as a page
 * of jobs lists them; GET /v1/schedules/{name} has them whole. A page of schedules that
 * each carried megabytes of input was one string too long to build.
 */
export const ListedScheduleSchema = Type.Object(
  {
    ...ScheduleViewSchema.properties,
    job: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'The job body each fire submits; secret env values redacted, input files as ' +
        'ListedFile ({path, encoding, mode, bytes}) without their content',
    }),
  },
  { additionalProperties: false, $id: 'ListedSchedule' },
);

export const ScheduleListSchema = Type.Object(
  {
    schedules: Type.Array(ListedScheduleSchema),
    next_cursor: Nullable(Type.String({ description: 'Pass as cursor for the next page' })),
  },
  { additionalProperties: false, $id: 'ScheduleList' },
);

export const ScheduleListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
    cursor: Type.Optional(Text({ maxLength: 64, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const ScheduleNameParams = Type.Object(
  { name: ScheduleNameSchema },
  { additionalProperties: false },
);
