import { Type, type Static } from '@sinclair/typebox';

/*
 * Which queue backend and which blob store a process uses: tagged unions, so a second
 * backend is one more member here and one more case in backends.ts. They become
 * Config.queue and Config.blobs (config file keys `queue` and `blobs`); left out, they
 * are derived from today's keys ({kind: 'sqlite', path: dbPath} and {kind: 'fs',
 * dataDir}), so existing config files and RUNBOX_DB keep working unchanged.
 *
 * Secrets (a PostgreSQL password in the URL, S3 keys) are read by config.ts like every
 * other setting (env RUNBOX_QUEUE_URL, RUNBOX_S3_*) and never logged: `runbox config
 * show` prints the URL with its password replaced.
 */

const text = (description: string) => Type.String({ minLength: 1, description });

export const SqliteQueueConfigSchema = Type.Object(
  {
    kind: Type.Literal('sqlite'),
    path: text('database file; @defaultValue dbPath'),
  },
  { additionalProperties: false },
);

export const PostgresQueueConfigSchema = Type.Object(
  {
    kind: Type.Literal('postgres'),
    url: text('postgres://user:password@host:port/database'),
    schema: Type.Optional(text('schema holding runbox tables; @defaultValue "runbox"')),
    poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const QueueBackendConfigSchema = Type.Union([
  SqliteQueueConfigSchema,
  PostgresQueueConfigSchema,
]);

export const FsBlobStoreConfigSchema = Type.Object(
  {
    kind: Type.Literal('fs'),
    dataDir: text('blobs live in dataDir/blobs; @defaultValue dataDir'),
  },
  { additionalProperties: false },
);

export const S3BlobStoreConfigSchema = Type.Object(
  {
    kind: Type.Literal('s3'),
    bucket: text('bucket name'),
    prefix: Type.Optional(Type.String({ description: 'key prefix, e.g. "runbox/"' })),
    region: Type.Optional(text('region; @defaultValue "us-east-1"')),
    endpoint: Type.Optional(text('S3-compatible endpoint URL (MinIO, Ceph...)')),
    forcePathStyle: Type.Optional(Type.Boolean()),
    credentials: Type.Optional(
      Type.Object(
        {
          accessKeyId: text('or RUNBOX_S3_ACCESS_KEY_ID'),
          secretAccessKey: text('or RUNBOX_S3_SECRET_ACCESS_KEY; shown as "[set]"'),
          sessionToken: Type.Optional(text('or RUNBOX_S3_SESSION_TOKEN')),
        },
        {
          additionalProperties: false,
          description: "unset: the AWS SDK's own chain (AWS_* env, shared files, instance role)",
        },
      ),
    ),
    cacheMaxBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'local read cache under dataDir/s3-cache; @defaultValue 1 GiB',
      }),
    ),
    multipart: Type.Optional(
      Type.Object(
        {
          thresholdBytes: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 5 * 1024 ** 3,
              description:
                'objects larger go up in parts (one PUT takes 5 GiB at most); @defaultValue 64 MiB',
            }),
          ),
          partBytes: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 5 * 1024 ** 3,
              description: 'bytes per part (S3 wants at least 5 MiB); @defaultValue 16 MiB',
            }),
          ),
          concurrency: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 64,
              description: 'parts in flight; @defaultValue 4',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const BlobStoreConfigSchema = Type.Union([FsBlobStoreConfigSchema, S3BlobStoreConfigSchema]);

export type QueueBackendConfig = Static<typeof QueueBackendConfigSchema>;
export type BlobStoreConfig = Static<typeof BlobStoreConfigSchema>;
