import { readFileSync, statSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { QueueBackendConfig } from './backendConfig.js';
import { ConfigFileSchema } from './configSchema.js';
import { editDistance } from './editDistance.js';
import { shownValue } from './shownValue.js';
import type { BlobStoreConfig } from './backendConfig.js';
import { parseBlobsUrl } from './storage/s3/blobsUrl.js';
import { queueFromUrl, redactUrl, urlHoldsCredential } from './queueUrl.js';
import { RunboxError } from './errors/index.js';
import { MAX_TIMEOUT_SECONDS, MIN_CPUS } from './spec/parseJobSpec.js';
import { isImageReference } from './spec/imageReference.js';
import { allowHostProblem } from './webhooks/allowHostPattern.js';

/**
 * The one place runbox reads its environment. Precedence, lowest first:
 * embedded defaults < config file (JSON: --config or RUNBOX_CONFIG, else
 * /etc/runbox/config.json then $XDG_CONFIG_HOME/runbox/config.json) < RUNBOX_* env < flags.
 * The result is frozen and passed down explicitly; no other module reads process.env.
 */

export interface RuntimeConfig {
  /** Image the runtime runs in. */
  image: string;
  /** argv; `{script}` is replaced by the script's file name. */
  command: string[];
  /**
   * Resolve `image` to the image ID once (at this process's first job on it) and run
   * every later job on that ID, so a tag moved under a running box changes nothing.
   * @defaultValue false
   */
  pin?: boolean;
}

export type PullPolicy = 'if-not-present' | 'always' | 'never';
export type ZstdCodecChoice = 'auto' | 'native' | 'js';

export interface Config {
  /** Where the database, blobs and scratch folders live. @defaultValue $XDG_DATA_HOME/runbox */
  dataDir: string;
  /** @defaultValue `${dataDir}/runbox.db` */
  dbPath: string;
  /**
   * Where the queue lives: `{kind: 'postgres', url}` for several nodes on one PostgreSQL
   * (flag --queue and RUNBOX_QUEUE take the URL), `{kind: 'sqlite', path}` for a file.
   * @defaultValue null: SQLite at dbPath
   */
  queue: QueueBackendConfig | null;
  /** @defaultValue '127.0.0.1' */
  host: string;
  /** @defaultValue 7070 */
  port: number;
  /** Required when host is not a loopback address. @defaultValue null */
  token: string | null;
  /**
   * The URL other nodes reach this node's API at (http(s)://name-or-address:port), kept
   * in the worker registry so `logs -f` on another node can follow the jobs running
   * here. Its host name is also a Host this API answers to.
   * @defaultValue null: from the bound address and port (a wildcard bind advertises this
   * machine's first non-loopback IPv4 address)
   */
  advertiseUrl: string | null;
  /** Client commands talk to this server. @defaultValue `http://127.0.0.1:7070` */
  server: string;
  /** Concurrent job slots per process. @defaultValue 2 */
  workers: number;
  /**
   * Named queues this process serves, each with its own slots (`--queues default:4,gpu:1`):
   * it claims only jobs of these queues, and at most that many of each at once.
   * @defaultValue null: `{default: workers}`
   */
  queues: Record<string, number> | null;
  /**
   * A name on this runbox's containers (label io.runbox.instance), for people and tools.
   * Which containers recovery and cleanup touch never depends on it: that is the
   * database's own id, shared by every process on one database and by no other.
   * @defaultValue null: the database's id
   */
  instance: string | null;
  /**
   * Docker engine: a socket path, unix:///path or tcp://host:port.
   * @defaultValue DOCKER_HOST, else the docker CLI's current context, else '/var/run/docker.sock'
   */
  dockerSocket: string;
  runtimes: Record<string, RuntimeConfig>;
  defaults: {
    /** @defaultValue 300 */
    timeoutSeconds: number;
    /** Grace between SIGTERM and SIGKILL on timeout or cancel. @defaultValue 2 */
    killGraceSeconds: number;
    /** @defaultValue 512 MiB */
    memoryBytes: number;
    /** @defaultValue 1 */
    cpus: number;
    /** @defaultValue 256 */
    pids: number;
    /** Size of the job's /tmp. @defaultValue 64 MiB */
    tmpfsBytes: number;
    /** Largest single file a job may write (ulimit fsize). @defaultValue 2 GiB */
    fileSizeBytes: number;
    /** @defaultValue 1024 */
    nofile: number;
    /** @defaultValue 'if-not-present' */
    pullPolicy: PullPolicy;
    /** @defaultValue 3 */
    maxAttempts: number;
  };
  limits: {
    /** Kept bytes per log stream; beyond it head and tail. @defaultValue 64 MiB */
    logBytes: number;
    /** Total output bytes per job. @defaultValue 8 GiB */
    outputBytes: number;
    /** Output files per job. @defaultValue 10000 */
    outputFiles: number;
    /** Largest accepted request body. @defaultValue 16 MiB */
    bodyBytes: number;
    /** Time a client has to send a whole request (headers and body). @defaultValue 300000 */
    requestMs: number;
    /**
     * Client connections the API holds at once; past it new ones are closed. 'auto': half
     * the process's open-files limit, so idle sockets can never take the descriptors jobs
     * need (the engine's socket, output files, the database). @defaultValue 'auto'
     */
    connections: number | 'auto';
    /** Refuse new jobs when the data disk has less free. @defaultValue 512 MiB */
    minFreeBytes: number;
  };
  lease: {
    /** @defaultValue 5000 */
    heartbeatMs: number;
    /** @defaultValue 30000 */
    expiryMs: number;
  };
  retry: {
    /** @defaultValue 1000 */
    baseMs: number;
    /** @defaultValue 60000 */
    capMs: number;
  };
  /** Time running jobs get to finish on SIGTERM. @defaultValue 30000 */
  drainTimeoutMs: number;
  /** A worker without a heartbeat for this long is dead. @defaultValue 30000 */
  workerDeadMs: number;
  /** Dead worker rows are deleted after this. @defaultValue 1 day */
  workerRetentionMs: number;
  /** Finished jobs and their blobs are removed after this; 0 keeps them. @defaultValue 7 days */
  jobRetentionMs: number;
  /**
   * Garbage collection keeps any blob written within this long, referenced or not: a job
   * stores its logs and outputs before it records its result, so this must exceed the
   * longest outputs stage (collection runs at roughly 60-70 MiB/s here).
   * @defaultValue null: 2 x defaults.timeoutSeconds + 10 minutes
   */
  blobGraceMs: number | null;
  /** @defaultValue 10 minutes */
  sweepIntervalMs: number;
  zstd: {
    /** @defaultValue 'auto' (native, else the pure-JS codec) */
    codec: ZstdCodecChoice;
    /** @defaultValue 3 */
    level: number;
    /** Input bytes per independent frame. @defaultValue 1 MiB */
    frameBytes: number;
    /**
     * Worker threads compressing large blobs' frames, so that reading, hashing and
     * compressing overlap (native codec only); 0 compresses on the main thread.
     * @defaultValue the CPUs this process may use, at most 2
     */
    threads: number;
  };
  /** Group commit window for claims and completions. @defaultValue 2 */
  commitWindowMs: number;
  // --- Operator ceilings and allow-lists (DESIGN.md "The operator sets the ceiling") ---
  /**
   * The most a job may ask for. A submission beyond one is refused with InvalidSpec
   * naming the field and the ceiling, before it is stored; the worker checks again
   * before it runs a job. A per-job default (defaults.*, limits.*) above its ceiling is
   * a configuration error. `runbox run` raises them to what its own flags ask.
   */
  ceilings: {
    /** limits.memory. @defaultValue os.totalmem() */
    memoryBytes: number;
    /** limits.cpus. @defaultValue os.availableParallelism() */
    cpus: number;
    /** limits.pids. @defaultValue 4096 */
    pids: number;
    /** timeout_seconds. @defaultValue 86400 (1 day) */
    timeoutSeconds: number;
    /** limits.output_bytes; also bounds /work + /outputs while the job runs. @defaultValue 8 GiB */
    outputBytes: number;
    /** limits.output_files. @defaultValue 10000 */
    outputFiles: number;
    /** limits.log_bytes. @defaultValue 64 MiB */
    logBytes: number;
  };
  /** What a job may choose at all. */
  allow: {
    /** @defaultValue ['none'] */
    networks: Array<'none' | 'bridge'>;
    /**
     * Images a job may name with `image`, besides the configured runtimes' images
     * (always allowed). Exact references, or a prefix ending in `*` (`myorg/*`).
     * @defaultValue []
     */
    images: string[];
    /** @defaultValue ['if-not-present', 'never'] (no job makes the engine pull at will) */
    pullPolicies: PullPolicy[];
  };
  /**
   * Host header names the API answers besides loopback names (localhost, 127.x, [::1])
   * and the address it binds; any other Host gets 421 (DNS rebinding). Names, without port.
   * @defaultValue []
   */
  allowedHosts: string[];
  /**
   * `contract check --against image:NAME` fails an image without an io.runbox.contract
   * label (exit 80) instead of passing it: a stale image built before labels existed must
   * not slip through a CI gate. @defaultValue false, true when CI=true (or 1)
   */
  requireImageLabel: boolean;
  /**
   * Where outputs and logs are stored: null for dataDir/blobs on this machine, or an
   * S3-compatible bucket shared by several nodes (`--blobs s3://bucket/prefix?endpoint=`,
   * RUNBOX_BLOBS). S3 keys come from RUNBOX_S3_ACCESS_KEY_ID / RUNBOX_S3_SECRET_ACCESS_KEY
   * (/ RUNBOX_S3_SESSION_TOKEN) or blobs.credentials. @defaultValue null
   */
  blobs: BlobStoreConfig | null;
  /** Image pulls: `runbox pull`, serve's pre-pull and jobs' own pulls. */
  pull: {
    /** A pull that takes longer is abandoned (ImageUnavailable). @defaultValue 600 */
    timeoutSeconds: number;
    /** A pull whose layers add up to more is abandoned before they download. @defaultValue 8 GiB */
    maxBytes: number;
    /** serve pulls missing runtime images in the background at start. @defaultValue false */
    atStart: boolean;
  };
  /** GPU jobs (`gpus` in a spec). */
  gpus: {
    /**
     * Accept jobs that ask for GPUs; needs a GPU runtime on the engine (NVIDIA Container
     * Toolkit). Off, a job with `gpus` is refused at submit. @defaultValue false
     */
    allow: boolean;
  };
  /** Completion webhooks (README "Webhooks"). */
  webhooks: {
    /**
     * A URL every job submitted here without its own webhook_url is given (it is stored
     * in the job's spec at submit, so the delivery is decided once). @defaultValue null
     */
    url: string | null;
    /**
     * HMAC-SHA256 key of the Runbox-Signature header. Required before any job may name a
     * webhook; set it with RUNBOX_WEBHOOK_SECRET rather than in a file. @defaultValue null
     */
    secret: string | null;
    /**
     * Host names a webhook may point at: exact, or `*.example.com` for its subdomains.
     * @defaultValue [] (any host whose address is public)
     */
    allowHosts: string[];
    /**
     * Let webhooks reach loopback and private addresses (127/8, 10/8, 172.16/12,
     * 192.168/16, ::1, fc00::/7...). Link-local and cloud metadata addresses stay refused
     * whatever this says. @defaultValue false
     */
    allowPrivate: boolean;
    /** One POST waits this long for the answer. @defaultValue 10000 */
    timeoutMs: number;
    /** A delivery still failing this long after the job ended is given up. @defaultValue 1 day */
    retryForMs: number;
    /** First retry delay; doubled each attempt. @defaultValue 5000 */
    backoffBaseMs: number;
    /** Largest retry delay. @defaultValue 1 hour */
    backoffCapMs: number;
    /** Period of the delivery loop's look for due deliveries. @defaultValue 1000 */
    pollMs: number;
  };
  /** Recurring schedules (README "Schedules"). */
  schedules: {
    /** Period of the scheduler's look for due schedules. @defaultValue 1000 */
    pollMs: number;
    /**
     * With catch_up "skip", a due time is still fired when found this late (a busy or
     * briefly paused process); later than this it counts as missed. @defaultValue 60000
     */
    graceMs: number;
  };
}

export type ConfigOverrides = DeepPartial<Config>;
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K];
};

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The engine's smallest memory limit; parseJobSpec's MIN_MEMORY for a job's own ask. */
const MIN_JOB_MEMORY = 6 * MiB;

export const DEFAULT_RUNTIMES: Record<string, RuntimeConfig> = {
  'python:3.11': { image: 'python:3.11-slim', command: ['python3', '{script}'] },
  'node:20': { image: 'node:20-slim', command: ['node', '{script}'] },
  shell: { image: 'debian:bookworm-slim', command: ['sh', '{script}'] },
};

/**
 * HOME, else the passwd entry's home; null when there is neither (`env -i` as a uid with
 * no passwd entry), where os.homedir() throws and every command, `runbox --help` and a
 * submit to a server included, died Internal quoting uv_os_homedir.
 */
function homeOf(env: NodeJS.ProcessEnv): string | null {
  if (env.HOME) return env.HOME;
  try {
    return homedir();
  } catch {
    return null;
  }
}

/** The home-derived folder under `xdg` (or HOME/`fallback`), null with no home at all. */
function xdgDir(env: NodeJS.ProcessEnv, xdg: string, fallback: string): string | null {
  const home = homeOf(env);
  return env[xdg] || (home === null ? null : join(home, fallback));
}

function noHome(field: string, variable: string): RunboxError {
  return new RunboxError(
    'InvalidConfig',
    `${field}: HOME is unset and uid ${process.getuid?.() ?? '?'} has no home folder in ` +
      `/etc/passwd, so the default has no place; set HOME, or ${variable}`,
    { field },
  );
}

/** '' when there is no home to put it in: resolveConfig refuses that unless it is set. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = xdgDir(env, 'XDG_DATA_HOME', join('.local', 'share'));
  return base === null ? '' : join(base, 'runbox');
}

function baseDefaults(env: NodeJS.ProcessEnv): Omit<Config, 'dbPath'> & { dbPath: string | null } {
  return {
    dataDir: defaultDataDir(env),
    dbPath: null,
    queue: null,
    host: '127.0.0.1',
    port: 7070,
    token: null,
    advertiseUrl: null,
    server: 'http://127.0.0.1:7070',
    workers: 2,
    queues: null,
    instance: null,
    dockerSocket: '/var/run/docker.sock',
    runtimes: DEFAULT_RUNTIMES,
    defaults: {
      timeoutSeconds: 300,
      killGraceSeconds: 2,
      // Never more than the machine has, so the default fits under its ceiling.
      memoryBytes: Math.min(512 * MiB, totalmem()),
      cpus: 1,
      pids: 256,
      tmpfsBytes: 64 * MiB,
      fileSizeBytes: 2 * GiB,
      nofile: 1024,
      pullPolicy: 'if-not-present',
      maxAttempts: 3,
    },
    limits: {
      logBytes: 64 * MiB,
      outputBytes: 8 * GiB,
      outputFiles: 10000,
      bodyBytes: 16 * MiB,
      requestMs: 300_000,
      connections: 'auto',
      minFreeBytes: 512 * MiB,
    },
    lease: { heartbeatMs: 5000, expiryMs: 30000 },
    retry: { baseMs: 1000, capMs: 60000 },
    drainTimeoutMs: 30000,
    workerDeadMs: 30000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 7 * 24 * 3600 * 1000,
    blobGraceMs: null,
    blobs: null,
    sweepIntervalMs: 10 * 60 * 1000,
    zstd: { codec: 'auto', level: 3, frameBytes: MiB, threads: defaultZstdThreads() },
    commitWindowMs: 2,
    ceilings: {
      memoryBytes: totalmem(),
      cpus: availableParallelism(),
      pids: 4096,
      timeoutSeconds: 24 * 3600,
      outputBytes: 8 * GiB,
      outputFiles: 10000,
      logBytes: 64 * MiB,
    },
    allow: { networks: ['none'], images: [], pullPolicies: ['if-not-present', 'never'] },
    allowedHosts: [],
    requireImageLabel: false,
    pull: { timeoutSeconds: 600, maxBytes: 8 * GiB, atStart: false },
    gpus: { allow: false },
    webhooks: {
      url: null,
      secret: null,
      allowHosts: [],
      allowPrivate: false,
      timeoutMs: 10_000,
      retryForMs: 24 * 3600 * 1000,
      backoffBaseMs: 5000,
      backoffCapMs: 3600 * 1000,
      pollMs: 1000,
    },
    schedules: { pollMs: 1000, graceMs: 60_000 },
  };
}

/** RUNBOX_* variables and the config keys they set. */
export const ENV_KEYS: Record<string, (value: string) => ConfigOverrides> = {
  RUNBOX_DATA_DIR: (v) => ({ dataDir: v }),
  RUNBOX_DB: (v) => ({ dbPath: v }),
  // A PostgreSQL URL holds the password: set it here or in the file, never as a flag
  // where other users see it in ps.
  RUNBOX_QUEUE: (v) => ({ queue: queueFromUrl(v, 'RUNBOX_QUEUE') }),
  RUNBOX_HOST: (v) => ({ host: v }),
  RUNBOX_PORT: (v) => ({ port: intFrom('RUNBOX_PORT', v) }),
  RUNBOX_TOKEN: (v) => ({ token: tokenFrom('RUNBOX_TOKEN', v) }),
  RUNBOX_ADVERTISE_URL: (v) => ({ advertiseUrl: v }),
  RUNBOX_SERVER: (v) => ({ server: v }),
  RUNBOX_WORKERS: (v) => ({ workers: intFrom('RUNBOX_WORKERS', v) }),
  RUNBOX_QUEUES: (v) => ({ queues: queueSlotsFrom('RUNBOX_QUEUES', v) }),
  RUNBOX_INSTANCE: (v) => ({ instance: v }),
  RUNBOX_DOCKER_SOCKET: (v) => ({ dockerSocket: v }),
  RUNBOX_WEBHOOK_SECRET: (v) => ({ webhooks: { secret: v } }),
  RUNBOX_ZSTD_CODEC: (v) => ({ zstd: { codec: v as ZstdCodecChoice } }),
  RUNBOX_ZSTD_THREADS: (v) => ({ zstd: { threads: intFrom('RUNBOX_ZSTD_THREADS', v) } }),
  RUNBOX_BLOBS: (v) => ({ blobs: parseBlobsUrl(v) }),
  RUNBOX_RUNTIMES: (v) => {
    const runtimes = jsonFrom('RUNBOX_RUNTIMES', v);
    const problem = schemaProblem(ConfigFileSchema, { runtimes });
    if (problem) {
      throw new RunboxError('InvalidConfig', `RUNBOX_RUNTIMES: ${problem.message}`, {
        field: 'RUNBOX_RUNTIMES',
      });
    }
    return { runtimes: runtimes as Config['runtimes'] };
  },
  // CI services (GitHub Actions, GitLab, Buildkite...) all set CI; a gate there is strict.
  // CI=false leaves a config file's choice alone: it only ever tightens.
  CI: (v) => (v === 'true' || v === '1' ? { requireImageLabel: true } : {}),
};

/** A queue name: what a job's `queue` and `--queues` accept. */
export const QUEUE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/**
 * `default:4,gpu:1` as {default: 4, gpu: 1}. A name alone means one slot. Names follow
 * QUEUE_NAME; slots are integers from 0 to 256; a name twice is an error.
 */
export function queueSlotsFrom(name: string, value: string): Record<string, number> {
  const slots: Record<string, number> = {};
  for (const part of value.split(',')) {
    const [queue = '', count = '1', extra] = part.trim().split(':');
    const n = Number(count);
    const problem = !QUEUE_NAME.test(queue)
      ? `"${queue}" is not a queue name (lower-case letters, digits, _ . -; e.g. gpu)`
      : extra !== undefined || !Number.isInteger(n) || n < 0 || n > 256
        ? `"${part.trim()}" must be NAME:SLOTS with SLOTS an integer from 0 to 256`
        : queue in slots
          ? `queue "${queue}" is named twice`
          : null;
    if (problem) {
      throw new RunboxError('InvalidConfig', `${name}=${value}: ${problem}`, { field: name });
    }
    slots[queue] = n;
  }
  return slots;
}

/**
 * configSchema's token pattern: printable Latin-1 (ASCII is safest), no space at either
 * end. Node reads header values as Latin-1 bytes and trims their ends, so a token with
 * a space at an end, a control character, or a character above U+00FF (which fetch()
 * cannot put in a header) could never match; auth.ts reads a header sent as UTF-8 too.
 */
export const TOKEN_TEXT = /^[\x21-\x7e\xa1-\xff]([\x20-\x7e\xa0-\xff]*[\x21-\x7e\xa1-\xff])?$/;

/**
 * A token from the environment, checked as the config file's is. A server started with
 * RUNBOX_TOKEN="s3cr3t " or "tok€n" started, then refused every client with 401.
 */
function tokenFrom(name: string, value: string): string {
  if (!TOKEN_TEXT.test(value)) {
    throw new RunboxError(
      'InvalidConfig',
      `${name} must be printable text of ASCII or Latin-1 characters with no space at either end ` +
        '(what an HTTP header carries unchanged); generate one with `openssl rand -hex 32`',
      { field: name.endsWith(': token') ? 'token' : name },
    );
  }
  return value;
}

/** Number() also reads 0x10, 0o1, 0b11 and 1e1; an integer setting is written in decimal. */
const DECIMAL_INTEGER = /^\s*[+-]?\d+\s*$/;

function intFrom(name: string, value: string): number {
  const n = DECIMAL_INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) {
    throw new RunboxError('InvalidConfig', `${name}=${value} is not an integer`, { field: name });
  }
  return n;
}

function jsonFrom(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new RunboxError(
      'InvalidConfig',
      `${name} is not valid JSON: ${(error as Error).message}`,
      {
        field: name,
        cause: error,
      },
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where each resolved value came from, by dotted key: `default`, a file path, `env X`, `flag`. */
export type ConfigSources = Record<string, string>;

/**
 * Values a higher source replaces instead of merging into: a queue of another kind must
 * not keep the old kind's keys, and `--queues gpu:1` means only gpu.
 */
const REPLACED_WHOLE = new Set(['queue', 'queues']);

/**
 * Merges b over a, noting `source` for every leaf b sets. `runtimes` merges by name so a
 * file can add one without repeating all.
 */
function merge<T>(a: T, b: unknown, source: string, sources: ConfigSources, prefix = ''): T {
  if (!isPlainObject(b)) return a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b)) {
    if (value === undefined) continue;
    const path = prefix + key;
    if (isPlainObject(value) && isPlainObject(out[key]) && !REPLACED_WHOLE.has(path)) {
      out[key] = merge(out[key], value, source, sources, `${path}.`);
    } else {
      out[key] = value;
      for (const known of Object.keys(sources)) {
        if (known.startsWith(`${path}.`)) delete sources[known];
      }
      noteLeaves(value, path, source, sources);
    }
  }
  return out as T;
}

function noteLeaves(value: unknown, path: string, source: string, sources: ConfigSources): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) {
      noteLeaves(inner, path ? `${path}.${key}` : key, source, sources);
    }
  } else {
    sources[path] = source;
  }
}

export interface LoadConfigOptions {
  /** Path of a JSON config file; falls back to RUNBOX_CONFIG, then the search paths. */
  file?: string | undefined;
  /** Flag values, highest precedence. */
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  /**
   * Files read, lowest precedence first, when neither `file` nor RUNBOX_CONFIG names one.
   * @defaultValue configSearchPaths(env)
   */
  searchPaths?: string[];
  /**
   * Return a config that fails its checks, with the refusal as `problem`, instead of
   * throwing: `config show` is where a user looks to find what is wrong with one.
   */
  keepInvalid?: boolean;
}

/**
 * Config files read when none is named: the system's, then the user's (which wins), as
 * git reads /etc/gitconfig then ~/.gitconfig. A missing file is skipped.
 */
export function configSearchPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const base = xdgDir(env, 'XDG_CONFIG_HOME', '.config');
  return [
    '/etc/runbox/config.json',
    ...(base === null ? [] : [join(base, 'runbox', 'config.json')]),
  ];
}

export interface ResolvedConfig {
  config: Readonly<Config>;
  sources: ConfigSources;
  /** The config files that were read, lowest precedence first. */
  files: string[];
  /** What the user should hear about but that does not stop the command. */
  warnings: string[];
  /** Why this config would be refused; set only with `keepInvalid`. */
  problem?: unknown;
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  return resolveConfig(options).config;
}

/** loadConfig, plus where each value came from (for `runbox config show`). */
export function resolveConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const { config, sources, files, warnings, problem } = resolveClientConfig(options);
  if (config.dataDir === null || config.dbPath === null) {
    throw noHome('dataDir', 'RUNBOX_DATA_DIR, --data-dir or XDG_DATA_HOME');
  }
  return {
    config: Object.freeze({ ...config, dataDir: config.dataDir, dbPath: config.dbPath }),
    sources,
    files,
    warnings,
    ...(problem === undefined ? {} : { problem }),
  };
}

/**
 * The config as a command that only talks to a server reads it: dataDir and dbPath are
 * null when there is no home to put their default in (`env -i` as a uid with no passwd
 * entry), where `runbox ls --server URL` was refused 78 asking for a data dir it never
 * opens. Everything else is resolved and checked as resolveConfig does.
 */
export interface ClientConfig extends Omit<Config, 'dataDir' | 'dbPath'> {
  dataDir: string | null;
  dbPath: string | null;
}

export interface ResolvedClientConfig {
  config: Readonly<ClientConfig>;
  sources: ConfigSources;
  files: string[];
  warnings: string[];
  problem?: unknown;
}

export function resolveClientConfig(options: LoadConfigOptions = {}): ResolvedClientConfig {
  const env = options.env ?? process.env;
  const sources: ConfigSources = {};
  const defaults = baseDefaults(env);
  noteLeaves(defaults, '', 'default', sources);
  let config: ReturnType<typeof baseDefaults> = defaults;
  const docker = dockerHostFromEnv(env);
  config.dockerSocket = docker.value;
  sources.dockerSocket = docker.source;
  const named = options.file ?? (env.RUNBOX_CONFIG || undefined);
  const files = named
    ? [named]
    : (options.searchPaths ?? configSearchPaths(env)).filter(isConfigFileThere);
  const warnings: string[] = [];
  for (const file of files) {
    const parsed = readConfigFile(file);
    const exposed = exposedSecretsWarning(file, parsed);
    if (exposed) warnings.push(exposed);
    config = merge(config, parsed, file, sources);
  }
  for (const [name, toOverride] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      config = merge(config, toOverride(value), `env ${name}`, sources);
    }
  }
  if (options.overrides) config = merge(config, options.overrides, 'flag', sources);
  config = withS3Credentials(config, env, sources);
  const dataDir = config.dataDir === '' ? null : resolve(config.dataDir);
  if (config.dbPath === null) sources.dbPath = `${sources.dataDir} (dataDir/runbox.db)`;
  const dbPath =
    config.dbPath !== null
      ? resolve(config.dbPath)
      : dataDir === null
        ? null
        : join(dataDir, 'runbox.db');
  const result: ClientConfig = { ...config, dataDir, dbPath };
  try {
    checkConfig(result);
  } catch (error) {
    if (!options.keepInvalid) throw withSource(error, sources);
    return {
      config: deepFreeze(result),
      sources,
      files,
      warnings,
      problem: withSource(error, sources),
    };
  }
  return { config: deepFreeze(result), sources, files, warnings };
}

/** The flags that set a key checkConfig judges (serve, worker). */
const FLAG_OF: Record<string, string> = { port: '--port', workers: '--workers' };

/**
 * A refused value names where it was set. Values are checked once merged, so the check
 * alone cannot tell a config file's typo from an environment variable: DOCKER_HOST=garbage
 * was refused as "dockerSocket "garbage" ..." to a user who had never set dockerSocket,
 * and RUNBOX_PORT=-1 as "port: -1 ...".
 */
function withSource(error: unknown, sources: ConfigSources): unknown {
  if (!(error instanceof RunboxError) || error.field === null) return error;
  const source = sources[error.field];
  if (source === undefined || source === 'default') return error;
  const flag = FLAG_OF[error.field];
  if (source === 'flag' && flag !== undefined) {
    // The command line's own mistake, as any other bad flag value is: `serve --port
    // 70000` exited 78 (bad configuration), which service managers do not restart.
    const prefix = `${error.field}: `;
    const problem = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    return new RunboxError('UsageError', `${flag} ${problem}`, {
      field: error.field,
      cause: error,
    });
  }
  return new RunboxError(error.type, `${error.message} (set by ${source})`, {
    field: error.field,
    cause: error,
  });
}

/**
 * S3 keys from the environment go into an S3 blobs block (over the file's), so they are
 * one more config value like any other and never need to sit in a file.
 */
function withS3Credentials<T extends { blobs: BlobStoreConfig | null }>(
  config: T,
  env: NodeJS.ProcessEnv,
  sources: ConfigSources,
): T {
  const accessKeyId = env.RUNBOX_S3_ACCESS_KEY_ID;
  const secretAccessKey = env.RUNBOX_S3_SECRET_ACCESS_KEY;
  if (config.blobs?.kind !== 's3' || !accessKeyId || !secretAccessKey) return config;
  const sessionToken = env.RUNBOX_S3_SESSION_TOKEN;
  sources['blobs.credentials'] = 'env RUNBOX_S3_ACCESS_KEY_ID, RUNBOX_S3_SECRET_ACCESS_KEY';
  return {
    ...config,
    blobs: {
      ...config.blobs,
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) },
    },
  };
}

/**
 * The Docker engine the docker CLI would talk to: DOCKER_HOST, else the endpoint of the
 * current context (DOCKER_CONTEXT, else `currentContext` in $DOCKER_CONFIG/config.json),
 * else the default socket. RUNBOX_DOCKER_SOCKET and the config file override it.
 */
function dockerHostFromEnv(env: NodeJS.ProcessEnv): { value: string; source: string } {
  if (env.DOCKER_HOST) {
    if (env.DOCKER_TLS_VERIFY) {
      throw new RunboxError(
        'InvalidConfig',
        'DOCKER_TLS_VERIFY is set but runbox speaks plain HTTP to tcp:// engines; ' +
          'unset it, or set RUNBOX_DOCKER_SOCKET to a local socket',
        { field: 'DOCKER_TLS_VERIFY' },
      );
    }
    return { value: env.DOCKER_HOST, source: 'env DOCKER_HOST' };
  }
  const dockerConfig = xdgDir(env, 'DOCKER_CONFIG', '.docker');
  let context = env.DOCKER_CONTEXT;
  if (dockerConfig === null) return { value: '/var/run/docker.sock', source: 'default' };
  if (!context) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8'));
      if (isPlainObject(parsed) && typeof parsed.currentContext === 'string') {
        context = parsed.currentContext;
      }
    } catch {
      // No docker CLI config (or an unreadable one): the docker CLI then uses the default.
    }
  }
  if (context && context !== 'default') {
    const meta = join(
      dockerConfig,
      'contexts',
      'meta',
      // node:crypto on demand: loading it costs a client command (`runbox submit`
      // resolves this config) ~10 ms, and only a named docker context needs it.
      process.getBuiltinModule('node:crypto').createHash('sha256').update(context).digest('hex'),
      'meta.json',
    );
    let host: unknown;
    try {
      const parsed = JSON.parse(readFileSync(meta, 'utf8')) as {
        Endpoints?: { docker?: { Host?: unknown } };
      };
      host = parsed.Endpoints?.docker?.Host;
    } catch (error) {
      throw new RunboxError(
        'InvalidConfig',
        `docker context "${context}" is current but ${meta} cannot be read (${(error as Error).message}); ` +
          'run `docker context use default` or set RUNBOX_DOCKER_SOCKET',
        { field: 'dockerSocket', cause: error },
      );
    }
    if (typeof host === 'string' && host) {
      return { value: host, source: `docker context ${context}` };
    }
  }
  return { value: '/var/run/docker.sock', source: 'default' };
}

/**
 * Whether a searched config path holds a file to read. Missing is skipped; so is a path
 * under a folder this user cannot enter above the runbox folder (a home that systemd's
 * ProtectHome= hides). But a runbox folder that exists and cannot be searched is the
 * operator's config, unreadable: /etc/runbox made 0750 root:root and runbox serve run as
 * the user runbox used to start on defaults without a word.
 */
function isConfigFileThere(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES' || !canStat(dirname(file))) return false;
    throw unreadableConfig(file, error);
  }
}

function canStat(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

function unreadableConfig(file: string, error: unknown): RunboxError {
  const user = process.getuid?.() ?? null;
  return new RunboxError(
    'InvalidConfig',
    `cannot read config file ${file}: ${(error as Error).message}; make it and its folder ` +
      `readable by the user runbox runs as${user === null ? '' : ` (uid ${user})`}, ` +
      `e.g. chgrp runbox ${dirname(file)} ${file} && chmod g+rX ${dirname(file)} ${file}`,
    { field: 'config', cause: error },
  );
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw unreadableConfig(file, error);
    throw new RunboxError(
      'InvalidConfig',
      `cannot read config file ${file}: ${(error as Error).message}`,
      {
        field: 'config',
        cause: error,
      },
    );
  }
  // Editors on Windows start a UTF-8 file with a BOM, which JSON.parse refuses.
  const parsed = jsonFrom(`config file ${file}`, text.replace(/^\uFEFF/, ''));
  if (!isPlainObject(parsed)) {
    throw new RunboxError('InvalidConfig', `config file ${file} must hold a JSON object`, {
      field: 'config',
    });
  }
  // Checked here, not by the schema's message, which would print the secret.
  if (typeof parsed['token'] === 'string') tokenFrom(`config file ${file}: token`, parsed['token']);
  const problem = schemaProblem(ConfigFileSchema, parsed);
  if (problem) {
    throw new RunboxError('InvalidConfig', `config file ${file}: ${problem.message}`, {
      field: problem.key,
    });
  }
  return parsed;
}

/**
 * A config file every user may read that holds a secret (the token, the webhook secret,
 * S3 keys, a password or token in a URL): said once at start, as ssh says it of a key, since
 * `runbox config show` hides these and a 0644 file gave them to anyone on the machine.
 * Group-readable is left alone: README's staging box keeps /etc/runbox/config.json 0640
 * with the group runbox runs as.
 */
function exposedSecretsWarning(file: string, parsed: unknown): string | null {
  const keys = secretKeysIn(parsed);
  if (keys.length === 0) return null;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return null;
  }
  if ((mode & 0o004) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return (
    `config file ${file} holds ${keys.join(', ')} and every user on this machine may read ` +
    `it (mode ${octal}); run \`chmod 600 ${file}\` (or 640 with the group runbox runs as), ` +
    'or move the secret to the environment (RUNBOX_TOKEN, RUNBOX_WEBHOOK_SECRET, RUNBOX_S3_*)'
  );
}

/** The dotted keys of a parsed config file that hold a secret. */
function secretKeysIn(parsed: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (isPlainObject(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
    } else if (SECRET_KEY.test(path)) {
      if (value !== null && value !== '') found.push(path);
    } else if (typeof value === 'string' && urlHoldsCredential(value)) {
      found.push(`${hasUrlPassword(value) ? 'a password' : 'a credential'} in ${path}`);
    }
  };
  walk(parsed, '');
  return found;
}

function hasUrlPassword(value: string): boolean {
  try {
    return new URL(value).password !== '';
  } catch {
    return false;
  }
}

/**
 * The first place a value breaks its schema, as a dotted key and a message naming it.
 * `base` is the dotted key of `value` inside the file (for a union's branch).
 */
function schemaProblem(
  schema: TSchema,
  value: unknown,
  base = '',
): { key: string; message: string } | undefined {
  // What was written wrong comes before what is missing: `{"image": 5}` said "command:
  // is required", and only once that was added, that the image is not a string.
  const errors = [...Value.Errors(schema, value)];
  const first =
    errors.find((e) => e.type !== ValueErrorType.ObjectRequiredProperty && e.value !== undefined) ??
    errors[0];
  if (!first) return undefined;
  const relative = first.path.slice(1).replaceAll('/', '.');
  const key = [base, relative].filter(Boolean).join('.') || '(top level)';
  if (first.type === ValueErrorType.ObjectAdditionalProperties) {
    const parentRel = relative.includes('.') ? relative.slice(0, relative.lastIndexOf('.')) : '';
    const parent = [base, parentRel].filter(Boolean).join('.');
    const known = knownKeys(schema, parentRel);
    const name = relative.slice(parentRel ? parentRel.length + 1 : 0);
    const patterns = Object.keys(nodeAt(schema, parentRel)?.patternProperties ?? {});
    if (known.length === 0 && patterns.length > 0) {
      return {
        key,
        message: `${key}: "${name}" is not a name allowed here (${patterns.join(' or ')})`,
      };
    }
    const near = known.find((k) => editDistance(k, name) <= 2);
    return {
      key,
      message:
        `unknown key "${key}"` +
        (near ? ` (did you mean "${parent ? `${parent}.` : ''}${near}"?)` : '') +
        `; known keys${parent ? ` of ${parent}` : ''}: ${known.join(', ')}`,
    };
  }
  if (first.type === ValueErrorType.Union) {
    // "queues: expected union value" named neither the key inside nor the fix: look
    // into the one branch the value's shape (and `kind`) points at.
    const branch = unionBranch(first.schema, first.value);
    const kinds = unionKinds(first.schema);
    if (!branch && isPlainObject(first.value) && kinds.length > 0) {
      const kindKey = `${key === '(top level)' ? '' : `${key}.`}kind`;
      return {
        key: kindKey,
        message: `${kindKey}: expected one of ${kinds.map((k) => `"${k}"`).join(', ')}, got ${shownValue(first.value.kind)}`,
      };
    }
    if (branch) {
      const inner = schemaProblem(branch, first.value, key === '(top level)' ? '' : key);
      if (inner) return inner;
    }
  }
  if (first.type === ValueErrorType.ObjectRequiredProperty) {
    return { key, message: `${key}: is required` };
  }
  if (first.type === ValueErrorType.Union) {
    const flat = (node: SchemaNode): SchemaNode[] =>
      node.anyOf ? node.anyOf.flatMap(flat) : [node];
    const types = [...new Set(flat(first.schema as SchemaNode).map((b) => b.type ?? 'value'))];
    return {
      key,
      message: `${key}: expected ${types.join(' or ')}, got ${shownConfigValue(key, first.value)}`,
    };
  }
  return {
    key,
    message: `${key}: ${first.message.toLowerCase()}, got ${shownConfigValue(key, first.value)}`,
  };
}

/** Keys whose value is a secret, whatever type it was written with. */
const SECRET_KEY = /(^|\.)(token|secret|secretAccessKey|sessionToken)$/;

/**
 * A wrong value as a message shows it, but a secret only by its type: these messages
 * reach serve's log and the journal, and `"secret": ["..."]` is still the secret.
 */
function shownConfigValue(key: string, value: unknown): string {
  if (!SECRET_KEY.test(key)) return shownValue(value);
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} (the value is not shown)`;
}

/** The branch of a union (nested unions flattened) a value was meant for, when only one fits. */
function unionBranch(schema: TSchema, value: unknown): TSchema | undefined {
  type Node = SchemaNode;
  const flat = (node: Node): Node[] => (node.anyOf ? node.anyOf.flatMap(flat) : [node]);
  const jsonType =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'array'
        : typeof value === 'number'
          ? 'number'
          : typeof value;
  let branches = flat(schema as Node).filter((b) =>
    jsonType === 'number' ? b.type === 'number' || b.type === 'integer' : b.type === jsonType,
  );
  if (branches.length > 1 && isPlainObject(value) && typeof value.kind === 'string') {
    branches = branches.filter((b) => b.properties?.kind?.const === value.kind);
  }
  return branches.length === 1 ? branches[0] : undefined;
}

type SchemaNode = TSchema & {
  anyOf?: SchemaNode[];
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
};

/**
 * The schema of the value at a dotted key. A record's entries (`runtimes.NAME`) have no
 * properties of their own: their schema is the record's pattern's.
 */
function nodeAt(schema: TSchema, dotted: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema as SchemaNode;
  for (const part of dotted ? dotted.split('.') : []) {
    node =
      node?.properties?.[part] ??
      Object.entries(node?.patternProperties ?? {}).find(([pattern]) =>
        new RegExp(pattern).test(part),
      )?.[1];
  }
  return node;
}

/** The `kind` values of a union of objects told apart by kind (queue, blobs). */
function unionKinds(schema: TSchema): string[] {
  const flat = (node: SchemaNode): SchemaNode[] => (node.anyOf ? node.anyOf.flatMap(flat) : [node]);
  return flat(schema as SchemaNode)
    .map((b) => (b.properties?.kind as { const?: unknown } | undefined)?.const)
    .filter((k): k is string => typeof k === 'string');
}

function knownKeys(schema: TSchema, dotted: string): string[] {
  return Object.keys(nodeAt(schema, dotted)?.properties ?? {});
}

function checkConfig(config: ClientConfig): void {
  dockerEndpoint(config.dockerSocket);
  const fail = (field: string, message: string): never => {
    throw new RunboxError('InvalidConfig', `${field}: ${message}`, { field });
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    fail('port', `${config.port} is not a TCP port (0-65535)`);
  }
  if (config.advertiseUrl !== null) {
    const problem = advertiseUrlProblem(config.advertiseUrl);
    if (problem) fail('advertiseUrl', problem);
  }
  if (!Number.isInteger(config.workers) || config.workers < 0 || config.workers > 256) {
    fail('workers', `${config.workers} must be an integer from 0 to 256`);
  }
  for (const [name, slots] of Object.entries(config.queues ?? {})) {
    if (!QUEUE_NAME.test(name)) fail(`queues.${name}`, 'is not a queue name (e.g. gpu)');
    if (!Number.isInteger(slots) || slots < 0 || slots > 256) {
      fail(`queues.${name}`, `${slots} must be an integer from 0 to 256`);
    }
  }
  if (!['auto', 'native', 'js'].includes(config.zstd.codec)) {
    fail('zstd.codec', `"${config.zstd.codec}" must be auto, native or js`);
  }
  if (
    !Number.isInteger(config.zstd.threads) ||
    config.zstd.threads < 0 ||
    config.zstd.threads > 64
  ) {
    fail('zstd.threads', `${config.zstd.threads} must be an integer from 0 to 64`);
  }
  for (const [name, runtime] of Object.entries(config.runtimes)) {
    if (
      !isPlainObject(runtime) ||
      typeof runtime.image !== 'string' ||
      !Array.isArray(runtime.command)
    ) {
      fail(`runtimes.${name}`, 'must be {"image": "...", "command": ["...", "{script}"]}');
    }
    if (!isImageReference(runtime.image)) {
      fail(
        `runtimes.${name}.image`,
        `"${runtime.image}" is not an image reference (e.g. "python:3.11-slim", "registry:5000/tool@sha256:...")`,
      );
    }
  }
  if (
    config.blobGraceMs !== null &&
    (typeof config.blobGraceMs !== 'number' || !(config.blobGraceMs >= 0))
  ) {
    fail('blobGraceMs', `${config.blobGraceMs} must be a number of milliseconds >= 0, or null`);
  }
  if (!(config.pull.timeoutSeconds > 0)) {
    fail('pull.timeoutSeconds', `${config.pull.timeoutSeconds} must be a number of seconds > 0`);
  }
  if (!(config.pull.maxBytes > 0)) {
    fail('pull.maxBytes', `${config.pull.maxBytes} must be a number of bytes > 0`);
  }
  checkJobDefaults(config, fail);
  checkTimers(config, fail);
  // Liveness is read from the worker's heartbeat, sent every lease.heartbeatMs: a shorter
  // workerDeadMs judged live workers dead between two heartbeats, and a second process
  // starting on the database took their running jobs over ("re-attaching to a container
  // left by a dead worker", attempt 2), while `runbox workers` listed them dead.
  if (!(config.workerDeadMs > config.lease.heartbeatMs)) {
    fail(
      'workerDeadMs',
      `${config.workerDeadMs} must be longer than lease.heartbeatMs (${config.lease.heartbeatMs}), or live workers are judged dead between their heartbeats`,
    );
  }
  if (config.lease.heartbeatMs >= config.lease.expiryMs) {
    fail('lease.heartbeatMs', 'must be shorter than lease.expiryMs, or every lease expires');
  }
  checkCeilings(config, fail);
  listOfStrings(config.webhooks.allowHosts, 'webhooks.allowHosts', fail);
  for (const entry of config.webhooks.allowHosts) {
    const problem = allowHostProblem(entry);
    if (problem) fail('webhooks.allowHosts', problem);
  }
  if (config.webhooks.url !== null) {
    const problem = webhookUrlSyntaxProblem(config.webhooks.url);
    if (problem) fail('webhooks.url', problem);
    if (!config.webhooks.secret) {
      fail('webhooks.secret', 'must be set (RUNBOX_WEBHOOK_SECRET) when webhooks.url is');
    }
  }
  // A receiver holding the secret from a file or a vault trims it; a space or newline
  // kept at an end (a config file's "secret\n") signs with bytes no receiver checks.
  if (config.webhooks.secret !== null && config.webhooks.secret.trim() !== config.webhooks.secret) {
    fail(
      'webhooks.secret',
      'has a space or line break at an end, which receivers would not sign with; remove it ' +
        '(the value is not shown)',
    );
  }
  if (config.webhooks.backoffBaseMs > config.webhooks.backoffCapMs) {
    fail('webhooks.backoffBaseMs', 'must not exceed webhooks.backoffCapMs');
  }
}

function listOfStrings(value: unknown, field: string, fail: (f: string, m: string) => never): void {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    fail(field, 'must be an array of strings');
  }
}

/* eslint-disable-next-line no-control-regex -- it finds the control characters on purpose */
const URL_UNSAFE = /[\u0000-\u0020\u007f]/;

/** What is wrong with a webhook URL's shape (scheme, credentials), or undefined. */
export function webhookUrlSyntaxProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${redactUrl(text).slice(0, 200)}" is not a URL`;
  }
  // The URL parser drops tabs and newlines and rewrites other controls, so the URL stored
  // and shown (`runbox webhooks` printed an escape sequence as it was) was not the one
  // POSTed to: such a URL is refused rather than silently changed.
  const unsafe = URL_UNSAFE.exec(text);
  if (unsafe) {
    const c = unsafe[0];
    const what =
      c === ' '
        ? 'a space'
        : `a control character (U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
    return `has ${what} at ${unsafe.index}; percent-encode it or leave it out`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `scheme ${url.protocol.slice(0, -1)} is not allowed: use http or https`;
  }
  // Parsers take "https:///x" as host x and a backslash as "/" ("http://evil\@good/"
  // reaches evil): the URL stored and shown would name another host than the one reached.
  if (!/^https?:\/\/[^/\\]/i.test(text)) {
    return (
      'must start with http:// or https:// and the host; a URL parser reads ' +
      `"${redactUrl(text).slice(0, 200)}" as ${redactUrl(url.href).slice(0, 200)}`
    );
  }
  const backslash = text.indexOf('\\');
  if (backslash !== -1) {
    return `has a backslash at ${backslash}, which a URL parser reads as "/"; write "/" or percent-encode it (%5C)`;
  }
  // "http://:@host/" has an empty user and password, which URL reports as none: the
  // authority's @ is what says credentials were written.
  const authority = /^https?:\/\/([^/?#]*)/i.exec(text)?.[1] ?? '';
  if (url.username || url.password || authority.includes('@')) {
    return 'must not carry credentials (user:password@): they would be stored and shown';
  }
  // No server listens on port 0: every try would fail until the retry window ran out.
  if (url.port === '0') return "has port 0, which nothing listens on; give the receiver's port";
  return undefined;
}

/**
 * Per-job defaults the engine would read as "no limit": Docker takes Memory 0 and NanoCpus 0
 * as unlimited and tmpfs size=0 as an unbounded /tmp, so a default of 0 would lift the
 * limit for every job that does not ask, past every ceiling. A job's own spec cannot ask
 * for these (limits.memory from 6m, cpus and timeout_seconds above 0); the defaults keep
 * the same floors.
 */
function checkJobDefaults(
  config: ClientConfig,
  fail: (field: string, message: string) => never,
): void {
  const d = config.defaults;
  if (!(d.memoryBytes >= MIN_JOB_MEMORY)) {
    fail(
      'defaults.memoryBytes',
      `${d.memoryBytes} must be at least ${MIN_JOB_MEMORY} (6 MiB, the engine's minimum); 0 would mean no limit`,
    );
  }
  if (!(d.cpus >= MIN_CPUS)) {
    fail(
      'defaults.cpus',
      `${d.cpus} must be at least ${MIN_CPUS} (the kernel's smallest CPU quota); 0 would mean no limit`,
    );
  }
  if (!(d.timeoutSeconds > 0)) {
    fail('defaults.timeoutSeconds', `${d.timeoutSeconds} must be a number of seconds above 0`);
  }
  if (!(d.tmpfsBytes > 0)) {
    fail('defaults.tmpfsBytes', `${d.tmpfsBytes} must be above 0; 0 would mean an unbounded /tmp`);
  }
}

/**
 * Node keeps a timer of at most 2^31-1 ms (24.8 days) and fires a longer one after 1 ms
 * (a TimeoutOverflowWarning, nothing more): a sweepIntervalMs of 30 days swept the blob
 * store every millisecond, and a drainTimeoutMs past it killed running jobs at once on
 * SIGTERM instead of waiting.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every value that becomes a timer, in its own unit, against Node's longest timer. */
function checkTimers(config: ClientConfig, fail: (field: string, message: string) => never): void {
  const timers: Array<[string, number, 'ms' | 's']> = [
    ['drainTimeoutMs', config.drainTimeoutMs, 'ms'],
    ['sweepIntervalMs', config.sweepIntervalMs, 'ms'],
    ['commitWindowMs', config.commitWindowMs, 'ms'],
    ['lease.heartbeatMs', config.lease.heartbeatMs, 'ms'],
    ['webhooks.timeoutMs', config.webhooks.timeoutMs, 'ms'],
    ['webhooks.pollMs', config.webhooks.pollMs, 'ms'],
    ['schedules.pollMs', config.schedules.pollMs, 'ms'],
    ['pull.timeoutSeconds', config.pull.timeoutSeconds, 's'],
    ['defaults.killGraceSeconds', config.defaults.killGraceSeconds, 's'],
  ];
  for (const [field, value, unit] of timers) {
    const max = unit === 'ms' ? MAX_TIMER_MS : Math.floor(MAX_TIMER_MS / 1000);
    if (value > max) {
      fail(
        field,
        `${value} is above ${max} (${unit}, about 24 days), the longest wait a Node timer keeps ` +
          '(a longer one fires at once); lower it',
      );
    }
  }
  if (config.defaults.timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    fail(
      'defaults.timeoutSeconds',
      `${config.defaults.timeoutSeconds} is above ${MAX_TIMEOUT_SECONDS} (7 days), the longest ` +
        'timeout a job may have: every job that gives none would be refused; lower it',
    );
  }
}

/** Each per-job default against its ceiling, and the allow-lists' shapes. */
function checkCeilings(
  config: ClientConfig,
  fail: (field: string, message: string) => never,
): void {
  const pairs: Array<[string, number, string, number]> = [
    [
      'defaults.memoryBytes',
      config.defaults.memoryBytes,
      'memoryBytes',
      config.ceilings.memoryBytes,
    ],
    ['defaults.cpus', config.defaults.cpus, 'cpus', config.ceilings.cpus],
    ['defaults.pids', config.defaults.pids, 'pids', config.ceilings.pids],
    [
      'defaults.timeoutSeconds',
      config.defaults.timeoutSeconds,
      'timeoutSeconds',
      config.ceilings.timeoutSeconds,
    ],
    ['limits.outputBytes', config.limits.outputBytes, 'outputBytes', config.ceilings.outputBytes],
    ['limits.outputFiles', config.limits.outputFiles, 'outputFiles', config.ceilings.outputFiles],
    ['limits.logBytes', config.limits.logBytes, 'logBytes', config.ceilings.logBytes],
  ];
  for (const [field, value, ceiling, max] of pairs) {
    if (typeof max !== 'number' || !(max > 0)) {
      fail(`ceilings.${ceiling}`, `${max} must be a number above 0`);
    }
    if (value > max) {
      fail(field, `${value} is above ceilings.${ceiling} (${max}); lower it or raise the ceiling`);
    }
  }
  const listOf = (field: string, value: unknown, allowed?: readonly string[]) => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      fail(field, 'must be an array of strings');
    }
    for (const v of value as string[]) {
      if (allowed && !allowed.includes(v))
        fail(field, `"${v}" is not one of ${allowed.join(', ')}`);
    }
  };
  listOf('allow.networks', config.allow.networks, ['none', 'bridge']);
  listOf('allow.images', config.allow.images);
  listOf('allow.pullPolicies', config.allow.pullPolicies, ['if-not-present', 'always', 'never']);
  listOf('allowedHosts', config.allowedHosts);
  if (!config.allow.networks.includes('none')) {
    fail('allow.networks', 'must include "none", the network every job gets by default');
  }
  if (!config.allow.pullPolicies.includes(config.defaults.pullPolicy)) {
    fail('allow.pullPolicies', `must include defaults.pullPolicy "${config.defaults.pullPolicy}"`);
  }
}

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value) || Array.isArray(value)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * zstd.threads when the config leaves it out: the CPUs this process may use, at most 2.
 * Each thread is a V8 isolate (~10 MiB of RSS), and in the profile of a 256 MiB output
 * (2 cores) both threads idled most of the time, waiting on the engine's archive.
 */
export function defaultZstdThreads(): number {
  return Math.min(2, availableParallelism());
}

/**
 * Where the packaged binary writes its native addons before loading them
 * (src/native/seaAddons.ts): $XDG_CACHE_HOME/runbox/addons, by default
 * ~/.cache/runbox/addons. Not part of Config: it is needed before config loads.
 */
export function addonCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = xdgDir(env, 'XDG_CACHE_HOME', '.cache');
  if (base === null) throw noHome('addons', 'XDG_CACHE_HOME (where the native addons go)');
  return join(base, 'runbox', 'addons');
}

/**
 * What config.dockerSocket names, which takes what DOCKER_HOST takes: a socket path,
 * unix:///path, or tcp://host:port (plain HTTP). TLS and ssh:// are refused rather than
 * tried in the clear.
 */
export function dockerEndpoint(
  endpoint: string,
): { socketPath: string } | { host: string; port: number } {
  if (endpoint.startsWith('/')) return { socketPath: endpoint };
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url?.protocol === 'unix:' && url.pathname) return { socketPath: url.pathname };
  if (url?.protocol === 'tcp:' && url.hostname) {
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 2375) };
  }
  throw new RunboxError(
    'InvalidConfig',
    `dockerSocket "${redactUrl(endpoint)}" is not a socket path, unix:///path or tcp://host:port ` +
      '(ssh:// and TLS endpoints are not supported: forward them to a local socket)',
    { field: 'dockerSocket' },
  );
}

/**
 * What the terminal wants from progress output: none in CI logs (CI set), no colour when
 * NO_COLOR is set (no-color.org). Read here because this is the one reader of the env.
 */
export function terminalPrefs(env: NodeJS.ProcessEnv = process.env): {
  ci: boolean;
  color: boolean;
} {
  return { ci: Boolean(env.CI) && env.CI !== 'false', color: !env.NO_COLOR };
}

/** Why a value cannot be an advertised API URL, or null when it can. */
export function advertiseUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${redactUrl(value).slice(0, 100)}" is not a URL (e.g. http://10.0.0.5:7070)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `"${redactUrl(value).slice(0, 100)}" must be an http:// or https:// URL`;
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    return `"${redactUrl(value).slice(0, 100)}" must be only scheme, host and port (no path, query or user)`;
  }
  return null;
}
