import type { ScheduleService } from '../../schedules/ScheduleService.js';
import {
  ScheduleListQuery,
  ScheduleListSchema,
  ScheduleNameParams,
  ScheduleRequestSchema,
  ScheduleViewSchema,
} from '../scheduleSchemas.js';
import { ErrorBodySchema, described } from '../schemas.js';
import type { Api } from '../typeProvider.js';

const schedule = (description: string) => described(ScheduleViewSchema, description);

export function registerScheduleRoutes(app: Api, schedules: ScheduleService): void {
  app.post(
    '/v1/schedules',
    {
      schema: {
        operationId: 'addSchedule',
        summary: 'Add a recurring schedule',
        description:
          'The job body is checked as a submit would be (400 naming job.<field>); 409 when ' +
          'the name is taken.',
        tags: ['schedules'],
        body: ScheduleRequestSchema,
        response: {
          201: schedule('Added'),
          409: ErrorBodySchema,
        },
        responseHeaders: {
          201: { location: { description: 'The URL of the schedule', schema: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const added = await schedules.create(request.body);
      return reply
        .status(201)
        .header('location', `/v1/schedules/${encodeURIComponent(added.name)}`)
        .send(added);
    },
  );

  app.get(
    '/v1/schedules',
    {
      schema: {
        operationId: 'listSchedules',
        summary: 'Schedules by name, with cursor pagination',
        description:
          'Pages of `limit` (default 100) in byte order of their names; pass `next_cursor` as ' +
          '`cursor` for the next page (null on the last). A cursor that is not a schedule ' +
          'name gets 400 naming cursor.',
        tags: ['schedules'],
        querystring: ScheduleListQuery,
        response: { 200: described(ScheduleListSchema, 'One page'), 400: ErrorBodySchema },
      },
    },
    async (request) =>
      schedules.list({
        limit: request.query.limit ?? 100,
        ...(request.query.cursor !== undefined ? { cursor: request.query.cursor } : {}),
      }),
  );

  app.get(
    '/v1/schedules/:name',
    {
      schema: {
        operationId: 'getSchedule',
        summary: 'One schedule',
        tags: ['schedules'],
        params: ScheduleNameParams,
        response: { 200: schedule('The schedule'), 404: ErrorBodySchema },
      },
    },
    async (request) => schedules.get(request.params.name),
  );

  app.delete(
    '/v1/schedules/:name',
    {
      schema: {
        operationId: 'removeSchedule',
        summary: 'Remove a schedule (jobs it enqueued stay)',
        tags: ['schedules'],
        params: ScheduleNameParams,
        response: { 200: schedule('The schedule removed'), 404: ErrorBodySchema },
      },
    },
    async (request) => schedules.remove(request.params.name),
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/v1/schedules/:name/${action}`,
      {
        schema: {
          operationId: `${action}Schedule`,
          summary: paused
            ? 'Pause a schedule: it fires nothing until resumed'
            : 'Resume a schedule: next due time after now (times passed while paused are skipped)',
          tags: ['schedules'],
          params: ScheduleNameParams,
          response: { 200: schedule(paused ? 'Paused' : 'Resumed'), 404: ErrorBodySchema },
        },
      },
      async (request) => schedules.setPaused(request.params.name, paused),
    );
  }
}
