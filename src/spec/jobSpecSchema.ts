import { Type, type Static } from '@sinclair/typebox';
import { GpusSchema } from './gpus.js';
import { Text } from './textSchema.js';

/**
 * What a client submits. The API serves this as its request schema, the CLI builds it
 * from flags, and parseJobSpec() turns it into the ResolvedSpec the executor runs.
 */
export const FileSchema = Type.Object(
  {
    path: Text({
      minLength: 1,
      maxLength: 1024,
      // maxLength counts characters; the kernel counts bytes, which the server checks too.
      description: 'Path under /work: at most 1024 bytes as UTF-8, each name at most 255',
    }),
    content: Type.String({ description: 'File content, in the given encoding' }),
    encoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64')])),
    mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o777 })),
  },
  { additionalProperties: false },
);

export const LimitsSchema = Type.Object(
  {
    memory: Type.Optional(
      Type.Union([Type.String(), Type.Integer({ minimum: 1 })], {
        description: 'Bytes, or a size like "512m" (default from config)',
      }),
    ),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'CPU cores' })),
    pids: Type.Optional(Type.Integer({ minimum: 1, description: 'Process limit' })),
    output_bytes: Type.Optional(
      Type.Union([Type.String(), Type.Integer({ minimum: 1 })], {
        description: 'Bytes /work and /outputs may hold, e.g. "1g" (default from config)',
      }),
    ),
    output_files: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Output files kept (default from config)' }),
    ),
    log_bytes: Type.Optional(
      Type.Union([Type.String(), Type.Integer({ minimum: 1 })], {
        description: 'Bytes kept per log stream, e.g. "16m" (default from config)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const JobSpecSchema = Type.Object(
  {
    runtime: Type.Optional(
      Type.String({ description: 'A runtime name from config, e.g. python:3.11' }),
    ),
    image: Type.Optional(Type.String({ description: 'An image to run instead of a runtime' })),
    script: Type.Optional(FileSchema),
    files: Type.Optional(Type.Array(FileSchema, { maxItems: 1000 })),
    command: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    args: Type.Optional(Type.Array(Type.String())),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    secret_env: Type.Optional(
      Type.Array(Type.String(), { description: 'Names of env entries never shown or logged' }),
    ),
    timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    limits: Type.Optional(LimitsSchema),
    network: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('bridge')])),
    pull_policy: Type.Optional(
      Type.Union([Type.Literal('if-not-present'), Type.Literal('always'), Type.Literal('never')]),
    ),
    gpus: Type.Optional(GpusSchema),
    webhook_url: Type.Optional(
      Text({
        minLength: 1,
        maxLength: 2048,
        description:
          'http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Queue options that ride along with a spec on submit. */
export const SubmitOptionsSchema = Type.Object(
  {
    queue: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9._-]{1,64}$',
        description:
          'Named queue (1-64 of a-z 0-9 . _ -); only nodes serving it run the job (default "default")',
      }),
    ),
    priority: Type.Optional(
      Type.Integer({ minimum: -1000, maximum: 1000, description: 'Lower runs first (default 0)' }),
    ),
    run_at: Type.Optional(
      Type.String({ description: 'ISO 8601 time before which it will not run' }),
    ),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    retry_on_exit_codes: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 255 }))),
    idempotency_key: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const SubmitRequestSchema = Type.Composite([JobSpecSchema, SubmitOptionsSchema], {
  additionalProperties: false,
});

export type JobSpec = Static<typeof JobSpecSchema>;
export type JobFile = Static<typeof FileSchema>;
export type SubmitOptions = Static<typeof SubmitOptionsSchema>;
export type SubmitRequest = Static<typeof SubmitRequestSchema>;
