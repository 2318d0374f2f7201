import { posix } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { ValueError } from '@sinclair/typebox/errors';
import type { Config, PullPolicy } from '../config.js';
import { InvalidSpecError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';
import {
  JobSpecSchema,
  SubmitOptionsSchema,
  type JobSpec,
  type SubmitOptions,
} from './jobSpecSchema.js';
import { resolveGpus, type GpuRequest } from './gpus.js';
import { isImageReference } from './imageReference.js';
import {
  checkCeiling,
  checkImageAllowed,
  checkNetworkAllowed,
  checkPullPolicyAllowed,
  formatSize,
} from './operatorCeilings.js';
import { INPUT_BYTES_FIX, MAX_INPUT_BYTES } from './inputBytes.js';
import { parseSize } from './parseSize.js';
import { runtimeForScript } from './runtimeByExtension.js';
import { isText, textExpectation } from './textSchema.js';
import { unknownFieldText } from './unknownField.js';

/** A spec with every default applied and every name resolved: what the executor runs. */
export interface ResolvedSpec {
  image: string;
  /** Full argv run in /work. */
  command: string[];
  files: Array<{ path: string; content: Buffer; mode: number }>;
  env: Record<string, string>;
  secretEnv: string[];
  timeoutMs: number;
  killGraceMs: number;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  tmpfsBytes: number;
  fileSizeBytes: number;
  nofile: number;
  network: 'none' | 'bridge';
  pullPolicy: PullPolicy;
  /** Kept bytes per log stream. */
  logBytes: number;
  /** Bytes /outputs may hold at collection, and /work + /outputs while running. */
  outputBytes: number;
  /** Entries kept from /outputs, and entries /work + /outputs may hold while running. */
  outputFiles: number;
  /** The runtime the image comes from, named in errors about it; absent for `image`. */
  runtime?: string;
  /** The runtime asked for its image to be pinned to an image ID (RuntimeConfig.pin). */
  pinImage?: boolean;
  /** GPUs for the container's DeviceRequests; absent for CPU jobs. */
  gpus?: GpuRequest;
}

const specChecker = TypeCompiler.Compile(JobSpecSchema);
const optionsChecker = TypeCompiler.Compile(SubmitOptionsSchema);
const OPTION_NAMES = Object.keys(SubmitOptionsSchema.properties);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = new Set(['RUNBOX_WORK', 'RUNBOX_OUTPUTS', 'RUNBOX_ATTEMPT']);
/**
 * Linux's MAX_ARG_STRLEN: execve refuses one argument or NAME=value longer, NUL
 * included. Past it the job failed, exit 1, "exec /sbin/docker-init: argument list too long".
 */
export const MAX_PROCESS_STRING_BYTES = 128 * 1024;
/**
 * command, args and env together (each string with its NUL), below execve's own bound:
 * a quarter of the stack limit, 2 MiB by default, which also counts a pointer for each
 * string. (The 431 once seen past 1.4 MB came from the create URL: see createContainer.)
 */
export const MAX_PROCESS_BYTES = 1024 * 1024;
/** A file name (one path component) as the kernel takes it: NAME_MAX bytes. */
const MAX_NAME_BYTES = 255;
/** A whole path under /work, in UTF-8 bytes (the schema counts characters). */
const MAX_PATH_BYTES = 1024;
/** Docker's own floor for a memory limit. */
const MIN_MEMORY = 6 * 1024 * 1024;
/** The engine reads limits as int64 and refuses larger numbers at create time. */
const MAX_MEMORY = Number.MAX_SAFE_INTEGER;
/** The kernel's own ceiling for pid_max. */
const MAX_PIDS = 4_194_304;
/**
 * The smallest CPU limit the kernel takes: the engine writes cpus × 100,000 µs as the CFS
 * quota, and one below 1,000 µs fails the container's start with a runc error (Internal).
 */
export const MIN_CPUS = 0.01;

/** The longest timeout a job may have (and so defaults.timeoutSeconds too). */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

/**
 * The repository part of an image reference (no registry host, tag or digest), which
 * the engine requires in lowercase: "Busybox" is refused at pull or create time.
 */
function repositoryOf(reference: string): string {
  const name = reference.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  const parts = (colon === -1 ? name : name.slice(0, colon)).split('/');
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    parts.shift();
  }
  return parts.join('/');
}

function fieldOf(pointer: string): string {
  return pointer.replace(/^\//, '').replace(/\//g, '.') || '(body)';
}

/** Turns the first schema error into an InvalidSpec that names the field. */
function structuralError(
  checker: typeof specChecker | typeof optionsChecker,
  input: unknown,
): InvalidSpecError | null {
  if (checker.Check(input)) return null;
  const first = checker.Errors(input).First();
  if (!first) return new InvalidSpecError('(body)', 'does not match the job schema');
  // A body's unknown top-level name may be a misspelt queue option as well as a field.
  const options = first.path.lastIndexOf('/') === 0 ? OPTION_NAMES : [];
  return new InvalidSpecError(
    fieldOf(first.path),
    valueErrorText(first, 'GET /openapi.json for the job schema', options),
  );
}

/**
 * The words for the first error a schema check found: a name the schema does not know
 * (with the one it most likely meant), a missing one, or TypeBox's words with the value.
 * One choice for a job's body and for every route's query, params and body, so a field
 * reads the same whichever way it came in.
 */
export function valueErrorText(
  error: ValueError,
  see: string,
  alsoKnown: readonly string[] = [],
): string {
  if (error.message.startsWith('Unexpected property')) {
    return unknownFieldText(error, see, alsoKnown);
  }
  if (error.value === undefined) return 'is required';
  return schemaErrorText(error);
}

/**
 * TypeBox's words for a schema error, with the value that failed. A union of literals
 * (network, pull_policy, a list's status) says "expected union value", which names
 * none of the values that would do: those are listed instead. Shared by the API's
 * route validation, so a job's field reads the same through POST /v1/jobs, a batch, a
 * schedule and the CLI.
 */
export function schemaErrorText(error: ValueError): string {
  if (error.path.endsWith('/gpus')) {
    // TypeBox says "expected union value" for a count of 0, naming nothing that would do.
    return `must be a count from 1 to 64, "all", or device IDs like ["0", "1"] (got ${shownValue(error.value)}); leave it out for a job without GPUs`;
  }
  if (isText(error.schema)) {
    return `${textExpectation(error.schema, error.value)} (got ${shownValue(error.value)})`;
  }
  const members = (
    error.schema as { anyOf?: Array<{ const?: unknown; type?: unknown; minimum?: unknown }> }
  ).anyOf;
  const count = members?.find((m) => m.type === 'integer');
  const expected =
    members && members.length > 0 && members.every((m) => m.const !== undefined)
      ? `expected one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}`
      : // A size (limits.memory, output_bytes, log_bytes): "expected union value" for 0 or
        // 1.5 said nothing of what would do.
        members?.length === 2 && count && members.some((m) => m.type === 'string')
        ? `expected a whole number of bytes of at least ${String(count.minimum ?? 0)}, or a size like "512m"`
        : error.message.toLowerCase();
  // {"TOKEN": "value"} is the natural mistake here, and quoting it back put the secret
  // in an answer a CI log or a proxy keeps.
  if (/(^|\/)secret_env(\/|$)/.test(error.path)) {
    return `${expected}; secret_env lists names of env entries whose values are secret, e.g. "env": {"TOKEN": "…"}, "secret_env": ["TOKEN"] (the value sent is not repeated)`;
  }
  // Any env value may be named in secret_env: a number or object sent there was quoted
  // back ("expected string (got 12345678)") in an answer that never holds a secret.
  if (/(^|\/)env\//.test(error.path)) {
    const sent =
      error.value === null
        ? 'null'
        : Array.isArray(error.value)
          ? 'an array'
          : typeof error.value === 'object'
            ? 'an object'
            : `a ${typeof error.value}`;
    return `${expected} (${sent} was sent; env values are not repeated, as any may be secret)`;
  }
  return `${expected} (got ${shownValue(error.value)})`;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/i;

/**
 * An ISO 8601 date or date-time that names a real instant. Date.parse alone took
 * "2026-02-30T00:00:00Z" as 2 March and "5" or "March 7" as times in 2001, so a job
 * was silently scheduled for a day nobody asked for.
 */
function isIsoTime(text: string): boolean {
  const match = ISO_TIME.exec(text);
  if (!match || Number.isNaN(Date.parse(text))) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHour! <= 23 &&
    offsetMinute! <= 59
  );
}

/** Idempotency keys of schedule fires (Scheduler); a client's key may not start so. */
export const SCHEDULE_KEY_PREFIX = 'schedule:';

/** The first instant both queues store as it is (Date.UTC would read year 1 as 1901). */
const EARLIEST_RUN_AT = Date.parse('0001-01-01T00:00:00Z');

/** Splits a submit body into spec and queue options, checking both. */
export function splitSubmission(input: unknown): { spec: JobSpec; options: SubmitOptions } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidSpecError('(body)', 'must be a JSON object describing the job');
  }
  const spec: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  const optionKeys = new Set(Object.keys(SubmitOptionsSchema.properties));
  for (const [key, value] of Object.entries(input))
    (optionKeys.has(key) ? options : spec)[key] = value;
  const problem = structuralError(specChecker, spec) ?? structuralError(optionsChecker, options);
  if (problem) throw problem;
  const opts = options as SubmitOptions;
  if (opts.run_at !== undefined && !isIsoTime(opts.run_at)) {
    throw new InvalidSpecError(
      'run_at',
      `"${opts.run_at}" is not an ISO 8601 time, e.g. 2026-01-31T12:00:00Z`,
    );
  }
  // PostgreSQL stores an instant before year 1 as "... BC", which node-postgres reads
  // back as an invalid Date: the submit was answered 400 after the job was stored, and
  // the worker that claimed it took the whole serve process down (queue wait NaN).
  if (opts.run_at !== undefined && Date.parse(opts.run_at) < EARLIEST_RUN_AT) {
    throw new InvalidSpecError(
      'run_at',
      `"${opts.run_at}" is before 0001-01-01T00:00:00Z, the earliest time runbox stores; ` +
        'a time in the past runs at once, so give any later one, e.g. 1970-01-01T00:00:00Z',
    );
  }
  // Date.parse reads a date-time without an offset in the server's own zone: the same
  // request was due at different instants on servers in different zones.
  if (
    opts.run_at !== undefined &&
    /T/i.test(opts.run_at) &&
    !/(?:Z|[+-]\d{2}:\d{2})$/i.test(opts.run_at)
  ) {
    throw new InvalidSpecError(
      'run_at',
      `"${opts.run_at}" has no time zone, so it names no one instant; add Z for UTC or an ` +
        `offset, e.g. ${opts.run_at}Z or ${opts.run_at}+01:00`,
    );
  }
  // A schedule's fire is the job with the key schedule:NAME:<due time>: a client's job
  // holding that key first was taken as the fire, and the schedule's own job never ran.
  if (opts.idempotency_key?.startsWith(SCHEDULE_KEY_PREFIX)) {
    throw new InvalidSpecError(
      'idempotency_key',
      `${shownValue(opts.idempotency_key)} starts with "${SCHEDULE_KEY_PREFIX}", which runbox ` +
        "keeps for the jobs its schedules fire; choose a key that doesn't",
    );
  }
  return { spec: spec as JobSpec, options: opts };
}

/** A UTF-16 surrogate with no partner: JSON can carry it (`"\\ud800"`), UTF-8 cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A string that becomes part of the container's argv or environment. The kernel ends
 * each at a NUL (the job failed with "exec /sbin/docker-init: invalid argument"), and a
 * lone surrogate cannot be encoded for the engine (every attempt failed Internal: "URI
 * malformed"), so both are the submitter's mistake, refused before anything is stored.
 */
function checkProcessString(field: string, value: string, prefixBytes = 0): number {
  if (value.includes('\0')) throw new InvalidSpecError(field, 'must not contain a NUL byte');
  const bytes = prefixBytes + Buffer.byteLength(value, 'utf8') + 1;
  if (bytes > MAX_PROCESS_STRING_BYTES) {
    throw new InvalidSpecError(
      field,
      `is ${bytes} bytes as the process sees it; the kernel passes at most ` +
        `${MAX_PROCESS_STRING_BYTES} per argument or NAME=value (MAX_ARG_STRLEN): ` +
        'put larger data in files',
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidSpecError(
      field,
      'contains a lone UTF-16 surrogate (e.g. "\\ud800"), which is not text; send valid Unicode',
    );
  }
  return bytes;
}

function checkRelativePath(field: string, path: string): string {
  if (LONE_SURROGATE.test(path)) {
    throw new InvalidSpecError(
      field,
      'contains a lone UTF-16 surrogate (e.g. "\\ud800"), which cannot be a file name; send valid Unicode',
    );
  }
  const pathBytes = Buffer.byteLength(path, 'utf8');
  if (pathBytes > MAX_PATH_BYTES) {
    throw new InvalidSpecError(
      field,
      `is ${pathBytes} bytes as UTF-8; a path may be at most ${MAX_PATH_BYTES} bytes`,
    );
  }
  // The kernel refuses a longer name with ENAMETOOLONG when the worker writes the file:
  // every attempt failed Internal, and was retried.
  const long = path.split('/').find((part) => Buffer.byteLength(part, 'utf8') > MAX_NAME_BYTES);
  if (long !== undefined) {
    throw new InvalidSpecError(
      field,
      `has a name of ${Buffer.byteLength(long, 'utf8')} bytes, ${shownValue(long)}; ` +
        `each name between slashes may be at most ${MAX_NAME_BYTES} bytes as UTF-8`,
    );
  }
  if (path.includes('\0')) {
    // "must be a relative path inside /work" sent the submitter looking for a "..".
    throw new InvalidSpecError(
      field,
      `${shownValue(path)} holds a NUL byte, which no file name can; remove it`,
    );
  }
  const normal = posix.normalize(path);
  if (posix.isAbsolute(path) || normal === '..' || normal.startsWith('../') || normal === '.') {
    throw new InvalidSpecError(
      field,
      `${shownValue(path)} must be a relative path inside /work, without ".."`,
    );
  }
  // Writing it failed every attempt Internal (EISDIR), blamed on the Docker engine.
  if (normal.endsWith('/')) {
    throw new InvalidSpecError(field, `"${path}" names a folder; give a file's path`);
  }
  return normal;
}

function decode(field: string, content: string, encoding: 'utf8' | 'base64' | undefined): Buffer {
  if (encoding === 'base64') {
    // Whitespace may stand anywhere, padding only at the end: the same rule as
    // stripping whitespace first, without a copy of a megabytes-long string.
    if (!/^[A-Za-z0-9+/\s]*(?:=\s*){0,2}$/.test(content)) {
      throw new InvalidSpecError(field, 'is not valid base64');
    }
    return Buffer.from(content, 'base64');
  }
  return Buffer.from(content, 'utf8');
}

/**
 * Where an env entry is at fault: the field env.NAME, or, for a name too long to quote
 * whole, the field env and the name cut in the message (a 10 kB name made the field and
 * the message 10 kB each).
 */
function envEntry(name: string): { field: string; named: string } {
  const shown = shownValue(name);
  return shown === JSON.stringify(name)
    ? { field: `env.${name}`, named: '' }
    : { field: 'env', named: `${shown} ` };
}

function notAMemorySize(memory: string | number): InvalidSpecError {
  return new InvalidSpecError(
    'limits.memory',
    `${shownValue(memory)} is not a size from 6m to 8 PiB, e.g. "512m" or "2g"`,
  );
}

function checkCpus(cpus: number): void {
  if (cpus > 1024) throw new InvalidSpecError('limits.cpus', 'must be at most 1024');
  if (cpus < MIN_CPUS) {
    throw new InvalidSpecError(
      'limits.cpus',
      `${cpus} is below ${MIN_CPUS}, the smallest CPU limit the kernel takes; ask for ${MIN_CPUS} or more`,
    );
  }
}

/**
 * What a submission's own values break whatever the server's config: the schema, run_at,
 * a memory size that does not parse or is below Docker's floor, CPUs outside what the
 * kernel takes. The CLI checks a job's flags with it before any request, so `submit
 * --timeout -5` is refused in the server's words with no server, as `run` refuses it.
 * Ceilings and allow-lists are the server's config, judged there.
 */
export function checkSubmission(input: unknown): void {
  const { spec } = splitSubmission(input);
  const memory = spec.limits?.memory;
  if (memory !== undefined) {
    const parsed = parseSize(memory);
    // Not above MAX_MEMORY: the server names its own ceiling for that first.
    if (parsed === null || parsed < MIN_MEMORY) throw notAMemorySize(memory);
  }
  if (spec.limits?.cpus !== undefined) checkCpus(spec.limits.cpus);
}

/**
 * Checks a spec against the schema and the config, and resolves it. Throws
 * InvalidSpecError naming the first field at fault; creates nothing.
 */
export interface ParseOptions {
  /**
   * Checks only a new job gets: a worker resolving a job already queued (by an older
   * node, or before an upgrade) runs it as it was accepted rather than fail it.
   */
  submitting?: boolean;
}

export function parseJobSpec(
  input: unknown,
  config: Config,
  options: ParseOptions = {},
): ResolvedSpec {
  const problem = structuralError(specChecker, input);
  if (problem) throw problem;
  const spec = input as JobSpec;

  if (spec.runtime !== undefined && spec.image !== undefined) {
    throw new InvalidSpecError('image', 'give either runtime or image, not both');
  }
  let image: string;
  let template: string[] | undefined;
  if (spec.runtime !== undefined) {
    const runtime = config.runtimes[spec.runtime];
    if (!runtime) {
      const known = Object.keys(config.runtimes).join(', ');
      throw new InvalidSpecError(
        'runtime',
        `unknown runtime ${shownValue(spec.runtime)}; known runtimes: ${known}`,
      );
    }
    image = runtime.image;
    template = runtime.command;
  } else if (spec.image !== undefined) {
    if (!isImageReference(spec.image)) {
      throw new InvalidSpecError(
        'image',
        `${shownValue(spec.image)} is not a valid image reference (e.g. "myorg/tool:1.2", "registry:5000/tool@sha256:...")`,
      );
    }
    const repository = repositoryOf(spec.image);
    if (repository !== repository.toLowerCase()) {
      throw new InvalidSpecError(
        'image',
        `${shownValue(spec.image)}: the repository name ${shownValue(repository)} must be lowercase`,
      );
    }
    checkImageAllowed(spec.image, config);
    image = spec.image;
    // An image with a script and no command runs the script the way its extension's
    // runtime would (`--image my/python job.py` needs no `--command python3 job.py`).
    const byExtension = spec.script ? runtimeForScript(spec.script.path) : undefined;
    if (byExtension) template = config.runtimes[byExtension]?.command;
  } else {
    throw new InvalidSpecError(
      'runtime',
      `is required (or give image); known runtimes: ${Object.keys(config.runtimes).join(', ')}`,
    );
  }

  const files: ResolvedSpec['files'] = [];
  let inputBytes = 0;
  const seen = new Set<string>();
  // Every folder the files so far are in, with the first file under it: a file by the
  // name of a folder (or under a file) failed every attempt Internal (EISDIR, ENOTDIR)
  // when the worker wrote the inputs, after a 201.
  const folders = new Map<string, string>();
  const addFile = (field: string, file: NonNullable<JobSpec['script']>, defaultMode: number) => {
    const path = checkRelativePath(`${field}.path`, file.path);
    if (seen.has(path)) throw new InvalidSpecError(`${field}.path`, `"${path}" is given twice`);
    const under = folders.get(path);
    if (under !== undefined) {
      throw new InvalidSpecError(
        `${field}.path`,
        `"${path}" is a file, but it is the folder of "${under}", given before`,
      );
    }
    const parts = path.split('/');
    for (let end = 1; end < parts.length; end++) {
      const folder = parts.slice(0, end).join('/');
      if (seen.has(folder)) {
        throw new InvalidSpecError(
          `${field}.path`,
          `"${path}" needs "${folder}" as a folder, but "${folder}" is a file, given before`,
        );
      }
      if (!folders.has(folder)) folders.set(folder, path);
    }
    seen.add(path);
    const content = decode(`${field}.content`, file.content, file.encoding);
    inputBytes += content.length;
    if (inputBytes > MAX_INPUT_BYTES) {
      throw new InvalidSpecError(
        `${field}.content`,
        `brings the inputs to ${inputBytes} bytes: ${INPUT_BYTES_FIX}`,
      );
    }
    files.push({ path, content, mode: file.mode ?? defaultMode });
  };
  if (spec.script) addFile('script', spec.script, 0o755);
  spec.files?.forEach((file, i) => addFile(`files.${i}`, file, 0o644));

  spec.command?.forEach((part, i) => checkProcessString(`command.${i}`, part));
  spec.args?.forEach((part, i) => checkProcessString(`args.${i}`, part));
  let command: string[];
  if (spec.command) {
    command = [...spec.command];
  } else if (template) {
    if (template.some((part) => part.includes('{script}')) && !spec.script) {
      throw new InvalidSpecError(
        'script',
        `runtime "${spec.runtime}" runs a script: give script {path, content} or command`,
      );
    }
    if (spec.script && !template.some((part) => part.includes('{script}'))) {
      // The script was written to /work and never run: the job "succeeded" doing nothing.
      const name = spec.runtime ?? runtimeForScript(spec.script.path);
      throw new InvalidSpecError(
        'script',
        `runtime "${name}" never runs a script (its command ${JSON.stringify(template)} has no {script}); ` +
          `give command, or add "{script}" to runtimes.${name}.command in the server's config`,
      );
    }
    const scriptPath = spec.script ? checkRelativePath('script.path', spec.script.path) : '';
    // A name starting with '-' was read as an option (`sh -x.sh`: "Illegal option -.");
    // `./` names the same file in /work for every interpreter.
    const scriptArgument = scriptPath.startsWith('-') ? `./${scriptPath}` : scriptPath;
    command = template.map((part) =>
      part === '{script}' ? scriptArgument : part.replaceAll('{script}', scriptPath),
    );
  } else {
    throw new InvalidSpecError(
      'command',
      `is required with image "${image}" unless the script's extension names a runtime (.py, .js, .sh)`,
    );
  }
  command.push(...(spec.args ?? []));

  let processBytes = command.reduce((sum, part) => sum + Buffer.byteLength(part, 'utf8') + 1, 0);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    const entry = envEntry(name);
    if (!ENV_NAME.test(name))
      throw new InvalidSpecError(
        entry.field,
        `${entry.named}is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)`,
      );
    if (RESERVED_ENV.has(name))
      throw new InvalidSpecError(`env.${name}`, 'is set by runbox and cannot be overridden');
    processBytes += checkProcessString(entry.field, value, name.length + 1);
    env[name] = value;
  }
  if (processBytes > MAX_PROCESS_BYTES) {
    throw new InvalidSpecError(
      spec.env ? 'env' : 'args',
      `command, args and env come to ${processBytes} bytes; at most ${MAX_PROCESS_BYTES} ` +
        'reach a process: put larger data in files',
    );
  }
  for (const name of spec.secret_env ?? []) {
    if (!(name in env))
      throw new InvalidSpecError('secret_env', `names ${shownValue(name)}, which is not in env`);
  }

  const timeoutSeconds = spec.timeout_seconds ?? config.defaults.timeoutSeconds;
  // The tighter bound answers: past a server's ceiling below runbox's own maximum, the
  // ceiling is what the submitter must meet (not 7 days, then the ceiling on a retry).
  if (Number.isFinite(timeoutSeconds) && config.ceilings.timeoutSeconds < MAX_TIMEOUT_SECONDS) {
    checkCeiling(
      'timeout_seconds',
      timeoutSeconds,
      String(timeoutSeconds),
      'timeoutSeconds',
      config,
    );
  }
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    throw new InvalidSpecError(
      'timeout_seconds',
      `must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS} (7 days)`,
    );
  }
  if (Math.round(timeoutSeconds * 1000) < 1) {
    // Timeouts are kept in whole milliseconds: a shorter one was recorded as 0 s (the
    // engine's word for no limit) on a job killed at once "after its timeout of 0 s".
    throw new InvalidSpecError(
      'timeout_seconds',
      `${timeoutSeconds} is below 0.001, the shortest timeout runbox keeps; ask for 0.001 or more`,
    );
  }
  let memoryBytes = config.defaults.memoryBytes;
  if (spec.limits?.memory !== undefined) {
    const parsed = parseSize(spec.limits.memory);
    if (parsed !== null) {
      checkCeiling(
        'limits.memory',
        parsed,
        String(spec.limits.memory),
        'memoryBytes',
        config,
        formatSize,
      );
    }
    if (parsed === null || parsed < MIN_MEMORY || parsed > MAX_MEMORY) {
      throw notAMemorySize(spec.limits.memory);
    }
    memoryBytes = parsed;
  }
  const pids = spec.limits?.pids ?? config.defaults.pids;
  checkCeiling('limits.pids', pids, String(pids), 'pids', config);
  if (pids > MAX_PIDS) {
    throw new InvalidSpecError('limits.pids', `must be at most ${MAX_PIDS} (the kernel's pid_max)`);
  }
  const gpus = resolveGpus(spec.gpus, config);
  const cpus = spec.limits?.cpus ?? config.defaults.cpus;
  checkCpus(cpus);
  checkCeiling('limits.cpus', cpus, String(cpus), 'cpus', config);
  const sizeLimit = (
    field: 'output_bytes' | 'log_bytes',
    key: 'outputBytes' | 'logBytes',
    fallback: number,
  ): number => {
    const asked = spec.limits?.[field];
    if (asked === undefined) return fallback;
    const parsed = parseSize(asked);
    if (parsed === null) {
      throw new InvalidSpecError(
        `limits.${field}`,
        `${shownValue(asked)} is not a size, e.g. "512m" or "2g"`,
      );
    }
    checkCeiling(`limits.${field}`, parsed, String(asked), key, config, formatSize);
    return parsed;
  };
  const outputBytes = sizeLimit('output_bytes', 'outputBytes', config.limits.outputBytes);
  const logBytes = sizeLimit('log_bytes', 'logBytes', config.limits.logBytes);
  const outputFiles = spec.limits?.output_files ?? config.limits.outputFiles;
  checkCeiling('limits.output_files', outputFiles, String(outputFiles), 'outputFiles', config);
  const network = spec.network ?? 'none';
  checkNetworkAllowed(network, config);
  const pullPolicy = spec.pull_policy ?? config.defaults.pullPolicy;
  checkPullPolicyAllowed(pullPolicy, config);
  // Last, after every other field: a script of no bytes, run by the runtime (no command),
  // "succeeded" having run nothing (an empty file from a redirect that failed, `run -`
  // with nothing on stdin). Whitespace alone is left to the runtime: its command is the
  // operator's, and may read the file as something other than code.
  if (options.submitting && spec.script && !spec.command && files[0]!.content.length === 0) {
    const name = spec.runtime ?? runtimeForScript(spec.script.path);
    throw new InvalidSpecError(
      'script.content',
      `is empty, so runtime "${name}" would run nothing; give the script's content, or command (--command) to run instead`,
    );
  }

  return {
    image,
    command,
    files,
    env,
    secretEnv: [...(spec.secret_env ?? [])],
    timeoutMs: Math.round(timeoutSeconds * 1000),
    killGraceMs: config.defaults.killGraceSeconds * 1000,
    memoryBytes,
    nanoCpus: Math.round(cpus * 1e9),
    pidsLimit: pids,
    tmpfsBytes: config.defaults.tmpfsBytes,
    fileSizeBytes: config.defaults.fileSizeBytes,
    nofile: config.defaults.nofile,
    network,
    pullPolicy,
    logBytes,
    outputBytes,
    outputFiles,
    ...(spec.runtime !== undefined ? { runtime: spec.runtime } : {}),
    ...(spec.runtime !== undefined && config.runtimes[spec.runtime]?.pin ? { pinImage: true } : {}),
    ...(gpus ? { gpus } : {}),
  };
}
