import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { BlobStoreConfigSchema, QueueBackendConfigSchema } from './backendConfig.js';
import type { Config } from './config.js';

/**
 * The config file's shape, checked before anything starts: every key optional (the file
 * overrides defaults), unknown keys and wrong types refused with the key named. Each
 * section is its own object so a new block (`ceilings`, `allow`) is one more entry in
 * SECTIONS, one line in ConfigFileSchema and one in the key checks at the end, which fail
 * typecheck until the schema and Config agree.
 */
const strict = <T extends TProperties>(properties: T, description: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, description });

const int = (description: string, minimum = 0) =>
  Type.Optional(Type.Integer({ minimum, description }));
const num = (description: string, minimum = 0) =>
  Type.Optional(Type.Number({ minimum, description }));
const str = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

export const RuntimeSchema = strict(
  {
    image: Type.String({ minLength: 1, description: 'Image the runtime runs in' }),
    command: Type.Array(Type.String(), {
      minItems: 1,
      description: 'argv; {script} is replaced by the script file name',
    }),
    pin: Type.Optional(
      Type.Boolean({ description: 'resolve the tag to an image ID at the first job, and keep it' }),
    ),
  },
  'one runtime',
);

const PullPolicySchema = Type.Union([
  Type.Literal('if-not-present'),
  Type.Literal('always'),
  Type.Literal('never'),
]);

const SECTIONS = {
  defaults: strict(
    {
      timeoutSeconds: num('seconds before a job is killed'),
      killGraceSeconds: num('seconds between SIGTERM and SIGKILL'),
      memoryBytes: int('memory limit of a job'),
      cpus: num('CPU limit of a job, in cores'),
      pids: int('process limit of a job', 1),
      tmpfsBytes: int("size of a job's /tmp"),
      fileSizeBytes: int('largest file a job may write (ulimit fsize)'),
      nofile: int('open files per job (ulimit nofile)', 1),
      pullPolicy: Type.Optional(PullPolicySchema),
      maxAttempts: int('attempts before a job fails for good', 1),
    },
    'what a job gets when it does not ask',
  ),
  limits: strict(
    {
      logBytes: int('bytes kept per log stream; beyond it head and tail'),
      outputBytes: int('total output bytes per job'),
      outputFiles: int('output files per job'),
      bodyBytes: int('largest accepted request body'),
      requestMs: int('time a client has to send a whole request', 1),
      connections: Type.Optional(
        Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')], {
          description:
            "client connections the API holds at once; 'auto': half the open-files limit",
        }),
      ),
      minFreeBytes: int('refuse new jobs below this much free disk'),
    },
    'hard limits',
  ),
  lease: strict(
    {
      heartbeatMs: int('heartbeat period of a running job', 1),
      expiryMs: int('a lease without heartbeat for this long is requeued', 1),
    },
    'job leases',
  ),
  retry: strict(
    {
      baseMs: int('first retry backoff'),
      capMs: int('largest retry backoff'),
    },
    'retry backoff',
  ),
  zstd: strict(
    {
      codec: Type.Optional(
        Type.Union([Type.Literal('auto'), Type.Literal('native'), Type.Literal('js')]),
      ),
      level: Type.Optional(Type.Integer({ minimum: 1, maximum: 19 })),
      frameBytes: int('input bytes per independent frame', 1),
      threads: int('threads compressing large blobs (0: the main thread)'),
    },
    'output compression',
  ),
  ceilings: strict(
    {
      memoryBytes: int('most memory a job may ask for', 1),
      cpus: num('most CPUs a job may ask for'),
      pids: int('most processes a job may ask for', 1),
      timeoutSeconds: num('longest timeout a job may ask for'),
      outputBytes: int('most output bytes a job may ask for', 1),
      outputFiles: int('most output files a job may ask for', 1),
      logBytes: int('most log bytes kept that a job may ask for', 1),
    },
    'the most a job may ask for (operator ceilings)',
  ),
  allow: strict(
    {
      networks: Type.Optional(
        Type.Array(Type.Union([Type.Literal('none'), Type.Literal('bridge')]), {
          description: 'networks a job may choose; must include none',
        }),
      ),
      images: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          description:
            "images a job may name besides the runtimes' (exact, or a prefix ending in *)",
        }),
      ),
      pullPolicies: Type.Optional(Type.Array(PullPolicySchema)),
    },
    'what a job may choose at all',
  ),
  pull: strict(
    {
      timeoutSeconds: num('a pull that takes longer is abandoned'),
      maxBytes: int('a pull whose layers add up to more is abandoned', 1),
      atStart: Type.Optional(
        Type.Boolean({ description: 'serve pulls missing runtime images at start' }),
      ),
    },
    'image pulls',
  ),
  gpus: strict(
    {
      allow: Type.Optional(
        Type.Boolean({ description: 'accept jobs that ask for GPUs (needs a GPU runtime)' }),
      ),
    },
    'GPU jobs',
  ),
  webhooks: strict(
    {
      url: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          description: 'webhook of every job that names none',
        }),
      ),
      secret: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          description: 'HMAC-SHA256 signing key (prefer RUNBOX_WEBHOOK_SECRET)',
        }),
      ),
      allowHosts: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          description: 'hosts webhooks may reach (exact or *.suffix); empty: any public host',
        }),
      ),
      allowPrivate: Type.Optional(
        Type.Boolean({ description: 'let webhooks reach loopback and private addresses' }),
      ),
      timeoutMs: int('one POST waits this long', 1),
      retryForMs: int('a failing delivery is retried this long after the job ended'),
      backoffBaseMs: int('first retry delay, doubled each attempt', 1),
      backoffCapMs: int('largest retry delay', 1),
      pollMs: int('period of the delivery loop', 1),
    },
    'completion webhooks',
  ),
  schedules: strict(
    {
      pollMs: int('period of the scheduler', 1),
      graceMs: int('a due time found this late still fires under catch_up skip'),
    },
    'recurring schedules',
  ),
};

export const ConfigFileSchema = strict(
  {
    dataDir: str('database, blobs and scratch folders'),
    dbPath: str('database file'),
    queue: Type.Optional(
      Type.Union([QueueBackendConfigSchema, Type.Null()], {
        description: "the queue: {kind: 'postgres', url} or {kind: 'sqlite', path}; null: dbPath",
      }),
    ),
    host: str('address the API binds'),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    token: Type.Optional(
      Type.Union(
        [
          // TOKEN_TEXT (config.ts): what an Authorization header can carry unchanged.
          Type.String({
            pattern:
              '^[\\x21-\\x7e\\xa1-\\xff]([\\x20-\\x7e\\xa0-\\xff]*[\\x21-\\x7e\\xa1-\\xff])?$',
          }),
          Type.Null(),
        ],
        { description: 'bearer token: printable ASCII or Latin-1, no space at either end' },
      ),
    ),
    advertiseUrl: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
        description:
          'URL other nodes reach this API at (logs -f across nodes); null: from host and port',
      }),
    ),
    server: str('server URL for client commands'),
    workers: Type.Optional(Type.Integer({ minimum: 0, maximum: 256 })),
    queues: Type.Optional(
      Type.Union(
        [
          Type.Record(
            Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$' }),
            Type.Integer({ minimum: 0, maximum: 256 }),
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        { description: 'named queues served, with slots each; null: {default: workers}' },
      ),
    ),
    instance: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
        description: "a name on this installation's containers; null: the database id",
      }),
    ),
    dockerSocket: str('Docker engine: a socket path, unix:// or tcp:// URL'),
    runtimes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), RuntimeSchema)),
    drainTimeoutMs: int('time running jobs get to finish on SIGTERM'),
    workerDeadMs: int('a worker without heartbeat for this long is dead'),
    workerRetentionMs: int('dead worker rows are deleted after this'),
    jobRetentionMs: int('finished jobs are removed after this; 0 keeps them'),
    blobGraceMs: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    blobs: Type.Optional(
      Type.Union([BlobStoreConfigSchema, Type.Null()], {
        description: 'where blobs live; null: dataDir/blobs on this machine',
      }),
    ),
    sweepIntervalMs: int('period of the retention sweep', 1),
    commitWindowMs: int('group commit window'),
    defaults: Type.Optional(SECTIONS.defaults),
    limits: Type.Optional(SECTIONS.limits),
    lease: Type.Optional(SECTIONS.lease),
    retry: Type.Optional(SECTIONS.retry),
    zstd: Type.Optional(SECTIONS.zstd),
    requireImageLabel: Type.Optional(
      Type.Boolean({
        description: 'contract check fails an image without a contract label (on when CI=true)',
      }),
    ),
    ceilings: Type.Optional(SECTIONS.ceilings),
    pull: Type.Optional(SECTIONS.pull),
    gpus: Type.Optional(SECTIONS.gpus),
    allow: Type.Optional(SECTIONS.allow),
    webhooks: Type.Optional(SECTIONS.webhooks),
    schedules: Type.Optional(SECTIONS.schedules),
    allowedHosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Host header names the API answers besides loopback names',
      }),
    ),
  },
  'runbox config file',
);

export type ConfigFile = Static<typeof ConfigFileSchema>;

// The schema and Config must name the same keys: adding a Config field (or a section)
// without its schema entry, or the reverse, fails typecheck here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : { onlyIn: [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] };
type Section<K extends keyof typeof SECTIONS> = NonNullable<ConfigFile[K]>;
export const configKeysMatch: [
  SameKeys<Config, ConfigFile>,
  SameKeys<Config['defaults'], Section<'defaults'>>,
  SameKeys<Config['limits'], Section<'limits'>>,
  SameKeys<Config['lease'], Section<'lease'>>,
  SameKeys<Config['retry'], Section<'retry'>>,
  SameKeys<Config['zstd'], Section<'zstd'>>,
  SameKeys<Config['ceilings'], Section<'ceilings'>>,
  SameKeys<Config['allow'], Section<'allow'>>,
  SameKeys<Config['pull'], Section<'pull'>>,
  SameKeys<Config['gpus'], Section<'gpus'>>,
  SameKeys<Config['webhooks'], Section<'webhooks'>>,
  SameKeys<Config['schedules'], Section<'schedules'>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];
