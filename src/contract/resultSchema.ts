import { Type, type Static } from '@sinclair/typebox';

/**
 * The result contract: the one shape every job result has. The TypeScript type and
 * the JSON Schema both come from this definition, so they cannot drift apart.
 *
 * Any change to this file changes the contract fingerprint. Bump CONTRACT_VERSION in
 * contract.ts with it: minor for an added optional field, major for anything a reader
 * built from the old schema would reject. A test fails if the fingerprint moves
 * without the version moving.
 */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const ErrorTypeSchema = Type.Union(
  [
    'NonZeroExit',
    'Timeout',
    'OOMKilled',
    'ImageUnavailable',
    'ImageContractMismatch',
    'InvalidSpec',
    'ContractViolation',
    'OutputLimitExceeded',
    'WorkerLost',
    'Cancelled',
    'EngineUnavailable',
    'Internal',
  ].map((t) => Type.Literal(t)),
);

export const LogSchema = Type.Object(
  {
    bytes: Type.Integer({ minimum: 0, description: 'True byte count the job wrote' }),
    truncated: Type.Boolean({ description: 'Kept only head and tail' }),
    blob: Nullable(Type.String({ description: 'sha256 of the kept bytes in the blob store' })),
  },
  { additionalProperties: false },
);

export const OutputEntrySchema = Type.Object(
  {
    path: Type.String({ description: 'Path relative to the output directory' }),
    type: Type.Union([Type.Literal('file'), Type.Literal('symlink')]),
    size: Type.Integer({ minimum: 0 }),
    sha256: Nullable(Type.String()),
    compressed_size: Nullable(Type.Integer({ minimum: 0 })),
    link_target: Nullable(Type.String({ description: 'Symlink target text, never followed' })),
  },
  { additionalProperties: false },
);

export const SkippedOutputSchema = Type.Object(
  {
    path: Type.String(),
    reason: Type.String(),
  },
  { additionalProperties: false },
);

export const StageTimesSchema = Type.Object(
  {
    image: Type.Number({ minimum: 0 }),
    create: Type.Number({ minimum: 0 }),
    inputs: Type.Number({ minimum: 0 }),
    run: Type.Number({ minimum: 0 }),
    outputs: Type.Number({ minimum: 0 }),
    cleanup: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, description: 'Seconds spent in each stage' },
);

export const MetricsSchema = Type.Object(
  {
    stage_times: StageTimesSchema,
    total_seconds: Type.Number({ minimum: 0 }),
    peak_memory_bytes: Nullable(Type.Integer({ minimum: 0 })),
    cpu_seconds: Nullable(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const SandboxSchema = Type.Object(
  {
    image: Type.String(),
    user: Type.String(),
    network: Type.String(),
    read_only_root: Type.Boolean(),
    cap_drop: Type.Array(Type.String()),
    no_new_privileges: Type.Boolean(),
    memory_bytes: Type.Integer({ minimum: 0 }),
    nano_cpus: Type.Integer({ minimum: 0 }),
    pids_limit: Type.Integer({ minimum: 0 }),
    tmpfs_bytes: Type.Integer({ minimum: 0 }),
    timeout_seconds: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, description: 'The sandbox settings that were applied' },
);

export const ResultErrorSchema = Type.Object(
  {
    type: ErrorTypeSchema,
    message: Type.String(),
    field: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

export const JobResultSchema = Type.Object(
  {
    exit_code: Nullable(Type.Integer()),
    signal: Nullable(Type.String()),
    timed_out: Type.Boolean(),
    oom_killed: Type.Boolean(),
    stdout: LogSchema,
    stderr: LogSchema,
    outputs: Type.Array(OutputEntrySchema),
    skipped_outputs: Type.Array(SkippedOutputSchema),
    metrics: MetricsSchema,
    sandbox: Nullable(SandboxSchema),
    error: Nullable(ResultErrorSchema),
    // Added in 1.1.0 (optional: results written before it lack it).
    image_digest: Type.Optional(
      Type.String({
        pattern: '^sha256:[0-9a-f]{64}$',
        description:
          'ID of the image the job ran (pin a job to it with image: "sha256:..."); absent when no container was created',
      }),
    ),
  },
  { additionalProperties: false, $id: 'JobResult' },
);

export type JobResult = Static<typeof JobResultSchema>;
export type JobResultError = Static<typeof ResultErrorSchema>;
export type OutputEntry = Static<typeof OutputEntrySchema>;
export type SkippedOutput = Static<typeof SkippedOutputSchema>;
export type LogInfo = Static<typeof LogSchema>;
export type StageTimes = Static<typeof StageTimesSchema>;
export type Metrics = Static<typeof MetricsSchema>;
export type SandboxApplied = Static<typeof SandboxSchema>;
