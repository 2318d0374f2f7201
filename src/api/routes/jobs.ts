import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { SubmitRequestSchema } from '../../spec/jobSpecSchema.js';
import type { JobService } from '../jobService.js';
import { FINAL_STATUSES } from '../jobView.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const WaitQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Boolean({ description: 'Answer with the final job (bounded by wait_seconds)' }),
    ),
    wait_seconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: 600, description: 'default 60' }),
    ),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union(
        ['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)),
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
    cursor: Type.Optional(
      Type.String({ maxLength: 64, description: 'next_cursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);
const BatchBody = Type.Object(
  { jobs: Type.Array(SubmitRequestSchema, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
const ErrorSchema = Type.Object({
  error: Type.Object({
    type: Type.String(),
    message: Type.String(),
    field: Type.Union([Type.String(), Type.Null()]),
  }),
});

export function registerJobRoutes(app: FastifyInstance, jobs: JobService): void {
  const waitBound = (query: { wait?: boolean; wait_seconds?: number }) =>
    query.wait ? (query.wait_seconds ?? 60) * 1000 : 0;

  app.post(
    '/v1/jobs',
    {
      schema: {
        summary:
          'Submit a job; 201 when created, 200 when the idempotency key names an existing job',
        body: SubmitRequestSchema,
        querystring: WaitQuery,
        response: {
          201: Type.Any(),
          200: Type.Any(),
          400: ErrorSchema,
          413: ErrorSchema,
          507: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { job, created } = await jobs.submit(request.body);
      const bound = waitBound(request.query as { wait?: boolean; wait_seconds?: number });
      const answer = bound > 0 ? await jobs.waitFinal(job.id, bound) : job;
      return reply.status(created ? 201 : 200).send(answer);
    },
  );

  app.post(
    '/v1/jobs/batch',
    {
      schema: {
        summary: 'Submit many jobs in one transaction: all stored, or none',
        body: BatchBody,
        response: { 201: Type.Any(), 400: ErrorSchema },
      },
    },
    async (request, reply) => {
      const outcomes = await jobs.submitBatch((request.body as { jobs: unknown[] }).jobs);
      return reply
        .status(201)
        .send({ jobs: outcomes.map((o) => ({ ...o.job, created: o.created })) });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'One job; wait=true answers once it is final',
        params: IdParams,
        querystring: WaitQuery,
        response: { 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const bound = waitBound(request.query as { wait?: boolean; wait_seconds?: number });
      return bound > 0 ? jobs.waitFinal(id, bound) : jobs.get(id);
    },
  );

  app.get(
    '/v1/jobs',
    { schema: { summary: 'Jobs, newest first, with cursor pagination', querystring: ListQuery } },
    async (request) => {
      const q = request.query as { status?: 'queued'; limit?: number; cursor?: string };
      return jobs.list({
        limit: q.limit ?? 100,
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        summary:
          'Cancel: a queued job at once; a running one has its container killed, partial output kept',
        params: IdParams,
        response: { 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const job = jobs.cancel(id);
      return FINAL_STATUSES.has(job.status) || job.status === 'running' ? job : jobs.get(id);
    },
  );
}
