import type { Readable } from 'node:stream';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  JobResultSchema,
  OutputEntrySchema,
  SkippedOutputSchema,
} from '../contract/resultSchema.js';
import { HTTP_STATUS, type ErrorType } from '../errors/index.js';
import { JobSpecSchema, SubmitRequestSchema } from '../spec/jobSpecSchema.js';
import { Text } from '../spec/textSchema.js';

/**
 * Every answer the API gives, as TypeBox schemas. The handlers' return types are these
 * schemas' Static types (see typeProvider.ts), and the OpenAPI document is built from the
 * same objects, so neither the code nor the document can say something the other does not.
 * A schema with an `$id` becomes a named component of the document.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = (description: string) => Type.String({ format: 'date-time', description });

export const JobStatusSchema = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ],
  { $id: 'JobStatus' },
);

/**
 * Every type an API error can carry, as an enum: the generated client then types
 * `error.type` as their union, so a client can switch over them (a plain string before).
 */
const ErrorTypeSchema = Type.Unsafe<ErrorType>({
  type: 'string',
  enum: Object.keys(HTTP_STATUS),
  description: 'Stable error type, e.g. InvalidSpec, NotFound',
  $id: 'ErrorType',
});

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object(
      {
        type: ErrorTypeSchema,
        message: Type.String({ description: 'What is wrong and how to fix it' }),
        field: Nullable(Type.String({ description: 'The field, header or parameter at fault' })),
        request_id: Type.String({ description: 'The x-request-id of this request' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBodySchema>;

/** A job's spec as stored: the submitted spec without queue options, secret values redacted. */
const StoredSpecSchema = Type.Object(JobSpecSchema.properties, {
  additionalProperties: false,
  $id: 'JobSpec',
});

const JobViewProperties = {
  id: Type.String(),
  status: JobStatusSchema,
  queue: Type.String({ description: 'Named queue it waits in; only nodes serving it run it' }),
  priority: Type.Integer({ description: 'Lower runs first' }),
  attempts: Type.Integer({
    minimum: 0,
    description:
      "Attempts started, the running one included (its number labels the attempt's logs)",
  }),
  released_attempts: Type.Integer({
    minimum: 0,
    description:
      'Of those, attempts a worker gave back unfinished (drained on a stop): they do not count against max_attempts',
  }),
  max_attempts: Type.Integer({ minimum: 1 }),
  run_at: Time('Not run before this time'),
  created_at: Time('When it was submitted'),
  updated_at: Time('Last change of state'),
  started_at: Nullable(Time('When its last attempt started')),
  finished_at: Nullable(Time('When it reached a final state')),
  idempotency_key: Nullable(Type.String()),
  worker_id: Nullable(
    Type.String({
      description:
        'The worker running it now (GET /v1/workers names its host); null unless running',
    }),
  ),
  contract_version: Nullable(
    Type.String({ description: 'Contract version its result was written with' }),
  ),
  error: Nullable(
    Type.Object(
      { type: Type.String(), message: Type.String(), field: Nullable(Type.String()) },
      { additionalProperties: false },
    ),
  ),
  result: Nullable(JobResultSchema),
};

export const JobViewSchema = Type.Object(
  { ...JobViewProperties, spec: StoredSpecSchema },
  { additionalProperties: false, $id: 'Job' },
);

/**
 * An input file in a listing: what it is, without its content. A page of 50 jobs that
 * each carried 15 MB of input was one string too long for V8 to build (GET /v1/jobs
 * answered 400 "Invalid string length"), and the dashboard fetched its page every 3 s.
 */
const ListedFileSchema = Type.Object(
  {
    path: Type.String({ description: 'Path under /work' }),
    encoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64')])),
    mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o777 })),
    bytes: Type.Integer({ minimum: 0, description: 'Its size once decoded' }),
  },
  { additionalProperties: false, $id: 'ListedFile' },
);

const ListedSpecSchema = Type.Object(
  {
    ...JobSpecSchema.properties,
    files: Type.Optional(
      Type.Array(ListedFileSchema, {
        description: 'Input files without their content: GET /v1/jobs/{id} has it',
      }),
    ),
  },
  { additionalProperties: false, $id: 'ListedJobSpec' },
);

/** A job in a page of GET /v1/jobs: as GET /v1/jobs/{id} has it, input contents aside. */
export const ListedJobSchema = Type.Object(
  { ...JobViewProperties, spec: ListedSpecSchema },
  { additionalProperties: false, $id: 'ListedJob' },
);

export const JobListSchema = Type.Object(
  {
    jobs: Type.Array(ListedJobSchema),
    next_cursor: Nullable(Type.String({ description: 'Pass as cursor for the next page' })),
  },
  { additionalProperties: false, $id: 'JobList' },
);

export const BatchAnswerSchema = Type.Object(
  {
    jobs: Type.Array(
      Type.Composite([
        JobViewSchema,
        Type.Object({
          created: Type.Boolean({ description: 'false when its idempotency key named a job' }),
        }),
      ]),
    ),
  },
  { additionalProperties: false, $id: 'BatchAnswer' },
);

export const BatchRequestSchema = Type.Object(
  { jobs: Type.Array(SubmitRequestSchema, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false, $id: 'BatchRequest' },
);

export const SubmitSchema = Type.Composite([SubmitRequestSchema], {
  additionalProperties: false,
  $id: 'SubmitRequest',
});

export const OutputManifestSchema = Type.Object(
  {
    outputs: Type.Array(OutputEntrySchema),
    skipped: Type.Array(SkippedOutputSchema),
  },
  { additionalProperties: false, $id: 'OutputManifest' },
);

export const WorkerViewSchema = Type.Object(
  {
    id: Type.String(),
    host: Type.String(),
    pid: Type.Integer(),
    version: Type.String(),
    contract_version: Type.String(),
    address: Nullable(
      Type.String({
        description:
          "Its node's API for other nodes (advertiseUrl), where logs -f of its jobs is proxied; null: none kept",
      }),
    ),
    queues: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
      description:
        'The named queues it serves, each with its slots (a worker runs at most that many of ' +
        "the queue's jobs at once); {} for a node that runs no jobs",
    }),
    started_at: Time('When it registered'),
    last_heartbeat_at: Time('Its last heartbeat'),
    state: Type.Union([Type.Literal('alive'), Type.Literal('dead'), Type.Literal('stopped')]),
  },
  { additionalProperties: false, $id: 'Worker' },
);
export type WorkerView = Static<typeof WorkerViewSchema>;

export const WorkerListSchema = Type.Object(
  { workers: Type.Array(WorkerViewSchema) },
  { additionalProperties: false, $id: 'WorkerList' },
);

export const QueueViewSchema = Type.Object(
  {
    name: Type.String(),
    queued: Type.Integer({
      minimum: 0,
      description: 'Jobs waiting, due or not: due + scheduled',
    }),
    due: Type.Integer({
      minimum: 0,
      description: 'Jobs waiting whose run_at has come: the backlog workers have to take',
    }),
    scheduled: Type.Integer({
      minimum: 0,
      description: 'Jobs waiting for a run_at still in the future (not a backlog yet)',
    }),
    running: Type.Integer({ minimum: 0 }),
    oldest_due_at: Nullable(Time('When the longest-waiting due job became due')),
    workers: Type.Integer({ minimum: 0, description: 'Live workers serving it' }),
    slots: Type.Integer({ minimum: 0, description: "Those workers' slots for it in total" }),
  },
  { additionalProperties: false, $id: 'Queue' },
);
export type QueueView = Static<typeof QueueViewSchema>;

export const QueueListSchema = Type.Object(
  { queues: Type.Array(QueueViewSchema) },
  { additionalProperties: false, $id: 'QueueList' },
);

export const RuntimeViewSchema = Type.Object(
  {
    name: Type.String(),
    image: Type.String(),
    command: Type.Array(Type.String()),
    present: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Whether the engine holds the image now; null when the engine did not answer',
    }),
  },
  { additionalProperties: false, $id: 'Runtime' },
);

export const RuntimeListSchema = Type.Object(
  { runtimes: Type.Array(RuntimeViewSchema) },
  { additionalProperties: false, $id: 'RuntimeList' },
);

export const ContractSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.String({ description: 'semver of the result contract' }),
    fingerprint: Type.String({ description: 'sha256 of the canonical JSON schema' }),
    schema: Type.Unknown({ description: 'The result JSON Schema' }),
  },
  { additionalProperties: false, $id: 'Contract' },
);

export const ActivitySchema = Type.Object(
  {
    bucket_seconds: Type.Integer({ description: 'Length of each bucket' }),
    buckets: Type.Array(
      Type.Object(
        {
          start: Time('Start of the bucket'),
          submitted: Type.Integer({ minimum: 0 }),
          dequeued: Type.Integer({
            minimum: 0,
            description: 'Jobs that left the queue: started, or cancelled while queued',
          }),
          succeeded: Type.Integer({ minimum: 0 }),
          failed: Type.Integer({ minimum: 0 }),
          cancelled: Type.Integer({ minimum: 0 }),
          queued: Type.Integer({
            minimum: 0,
            description:
              'Jobs waiting at the end of the bucket; exact for the last one, approximate ' +
              'for earlier ones while jobs are retried',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'Activity' },
);
export type ActivityView = Static<typeof ActivitySchema>;

export const HealthSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('draining')], {
      description: 'draining: told to stop, it finishes its running jobs and takes no new one',
    }),
    engine: Type.Union([Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('unknown')]),
    database: Type.Union(
      [Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('unknown')],
      {
        description:
          "whether the queue database answered this node's last reaper pass (every " +
          'second); unknown before the first',
      },
    ),
    disk: Type.Union([Type.Literal('ok'), Type.Literal('low'), Type.Literal('unknown')], {
      description:
        "low while the data dir's disk has less than limits.minFreeBytes free: submissions " +
        'then get 507, and status stays ok, as jobs already queued still run; unknown when ' +
        'it could not be measured',
    }),
    version: Type.String(),
    images_missing: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description:
        'runtime images the engine lacks (jobs on them pull first); null before the first check',
    }),
  },
  { additionalProperties: false, $id: 'Health' },
);

/**
 * A body that is not JSON: the media type goes into the document as the response's
 * content type (contentMediaType is JSON Schema's own word for it).
 */
export const Body = (mediaType: string, description: string) =>
  Type.Unsafe<string | Readable>({ type: 'string', contentMediaType: mediaType, description });
/** The same schema with a description of the answer it is used for (named schemas stay one component). */
export const described = <T extends TSchema>(schema: T, description: string): T => ({
  ...schema,
  description,
});
/** Fixed headers a page is sent with, as a response's documented headers (its value as description). */
export const documentedHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      { description: value, schema: { type: 'string' } },
    ]),
  );
/** A response with no body at all (304). */
export const NoBody = (description: string) =>
  Type.Unsafe<never>({ description, 'x-no-body': true });

export const IdParams = Type.Object(
  { id: Text({ maxLength: 64, description: 'A job id' }) },
  { additionalProperties: false },
);
