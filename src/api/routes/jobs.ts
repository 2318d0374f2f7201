import { Type } from '@sinclair/typebox';
import { Text } from '../../spec/textSchema.js';
import { MAX_JOB_PAGE } from '../jobView.js';
import type { JobService } from '../jobService.js';
import {
  BatchAnswerSchema,
  BatchRequestSchema,
  ErrorBodySchema,
  IdParams,
  JobListSchema,
  JobStatusSchema,
  JobViewSchema,
  ListedJobSchema,
  SubmitSchema,
  described,
} from '../schemas.js';
import type { Api } from '../typeProvider.js';

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
    status: Type.Optional(JobStatusSchema),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_JOB_PAGE, description: 'default 100' }),
    ),
    cursor: Type.Optional(Text({ maxLength: 64, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);
const LOCATION = {
  location: { description: 'The URL of the job', schema: { type: 'string' } },
};

const job = (description: string) => described(JobViewSchema, description);

/** Aborted when the answer's connection closes: a wait=true whose client left stops. */
function clientGone(reply: { raw: { once(event: 'close', fn: () => void): unknown } }) {
  const gone = new AbortController();
  reply.raw.once('close', () => gone.abort());
  return gone.signal;
}

export function registerJobRoutes(app: Api, jobs: JobService): void {
  const waitBound = (query: { wait?: boolean; wait_seconds?: number }) =>
    query.wait ? (query.wait_seconds ?? 60) * 1000 : 0;

  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'submitJob',
        summary: 'Submit a job',
        description:
          '201 with Location when created; 200 when the idempotency key names a job sent with ' +
          'the same body; 409 when that job was sent with another body. ' +
          'wait=true answers once the job is final (or wait_seconds passed). 503 ' +
          'ServerUnavailable while the server drains to stop.',
        tags: ['jobs'],
        body: SubmitSchema,
        querystring: WaitQuery,
        response: {
          201: job('Created'),
          200: job('The job its idempotency key already names'),
          409: ErrorBodySchema,
          413: ErrorBodySchema,
          415: ErrorBodySchema,
          503: ErrorBodySchema,
          507: ErrorBodySchema,
        },
        responseHeaders: { 201: LOCATION, 200: LOCATION },
      },
    },
    async (request, reply) => {
      const { job: submitted, created } = await jobs.submit(request.body, {
        requestId: request.id,
      });
      const bound = waitBound(request.query);
      const answer =
        bound > 0 ? await jobs.waitFinal(submitted.id, bound, clientGone(reply)) : submitted;
      return reply
        .status(created ? 201 : 200)
        .header('location', `/v1/jobs/${encodeURIComponent(answer.id)}`)
        .send(answer);
    },
  );

  app.post(
    '/v1/jobs/batch',
    {
      schema: {
        operationId: 'submitJobs',
        summary: 'Submit many jobs in one transaction: all stored, or none',
        description:
          '409 when a job names an idempotency key already given to a job sent with another ' +
          'body (error.field jobs.<i>.idempotency_key); then none is stored. 503 ' +
          'ServerUnavailable while the server drains to stop.',
        tags: ['jobs'],
        body: BatchRequestSchema,
        response: {
          201: described(BatchAnswerSchema, 'Stored, in request order'),
          409: ErrorBodySchema,
          413: ErrorBodySchema,
          415: ErrorBodySchema,
          503: ErrorBodySchema,
          507: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const outcomes = await jobs.submitBatch(request.body.jobs, request.id);
      return reply
        .status(201)
        .send({ jobs: outcomes.map((o) => ({ ...o.job, created: o.created })) });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        summary: 'One job; wait=true answers once it is final',
        tags: ['jobs'],
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: job('The job'), 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const bound = waitBound(request.query);
      return bound > 0
        ? jobs.waitFinal(request.params.id, bound, clientGone(reply))
        : jobs.get(request.params.id);
    },
  );

  app.get(
    '/v1/jobs/:id/brief',
    {
      schema: {
        operationId: 'getJobBrief',
        summary: 'One job as a page of jobs lists it: input files without their content',
        description:
          'What GET /v1/jobs/{id} answers (wait=true as well), but each input file is ' +
          '{path, encoding, mode, bytes}: for a view or a wait that polls a job whose ' +
          'inputs are large.',
        tags: ['jobs'],
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: described(ListedJobSchema, 'The job'), 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const bound = waitBound(request.query);
      return bound > 0
        ? jobs.waitBrief(request.params.id, bound, clientGone(reply))
        : jobs.brief(request.params.id);
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'Jobs, newest first, with cursor pagination',
        tags: ['jobs'],
        querystring: ListQuery,
        response: { 200: described(JobListSchema, 'One page') },
      },
    },
    async (request) => {
      const q = request.query;
      return jobs.list({
        limit: q.limit ?? 100,
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        operationId: 'cancelJob',
        summary: 'Cancel a job',
        description:
          'A queued job is cancelled at once; a running one has its container killed and its ' +
          'partial output kept (the answer shows it still running until its worker records it). ' +
          'A job that has already ended gets 409.',
        tags: ['jobs'],
        params: IdParams,
        response: {
          200: job('Cancelled, or cancel requested'),
          404: ErrorBodySchema,
          409: ErrorBodySchema,
        },
      },
    },
    async (request) => jobs.cancel(request.params.id, request.id),
  );
}
