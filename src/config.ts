import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunboxError } from './errors/index.js';

/**
 * The one place runbox reads its environment. Precedence, lowest first:
 * embedded defaults < config file (JSON, --config or RUNBOX_CONFIG) < RUNBOX_* env < flags.
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
  /** @defaultValue '127.0.0.1' */
  host: string;
  /** @defaultValue 7070 */
  port: number;
  /** Required when host is not a loopback address. @defaultValue null */
  token: string | null;
  /** Client commands talk to this server. @defaultValue `http://127.0.0.1:7070` */
  server: string;
  /** Concurrent job slots per process. @defaultValue 2 */
  workers: number;
  /** Labels containers so several runbox instances can share one engine. @defaultValue 'default' */
  instance: string;
  /** Docker socket. @defaultValue '/var/run/docker.sock' */
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
  };
  /** Group commit window for claims and completions. @defaultValue 2 */
  commitWindowMs: number;
  /**
   * `contract check --against image:NAME` fails an image without an io.runbox.contract
   * label (exit 79) instead of passing it: a stale image built before labels existed must
   * not slip through a CI gate. @defaultValue false, true when CI=true (or 1)
   */
  requireImageLabel: boolean;
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
}

export type ConfigOverrides = DeepPartial<Config>;
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K];
};

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_RUNTIMES: Record<string, RuntimeConfig> = {
  'python:3.11': { image: 'python:3.11-slim', command: ['python3', '{script}'] },
  'node:20': { image: 'node:20-slim', command: ['node', '{script}'] },
  shell: { image: 'debian:bookworm-slim', command: ['sh', '{script}'] },
};

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'runbox');
}

function baseDefaults(env: NodeJS.ProcessEnv): Omit<Config, 'dbPath'> & { dbPath: string | null } {
  return {
    dataDir: defaultDataDir(env),
    dbPath: null,
    host: '127.0.0.1',
    port: 7070,
    token: null,
    server: 'http://127.0.0.1:7070',
    workers: 2,
    instance: 'default',
    dockerSocket: '/var/run/docker.sock',
    runtimes: DEFAULT_RUNTIMES,
    defaults: {
      timeoutSeconds: 300,
      killGraceSeconds: 2,
      memoryBytes: 512 * MiB,
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
      minFreeBytes: 512 * MiB,
    },
    lease: { heartbeatMs: 5000, expiryMs: 30000 },
    retry: { baseMs: 1000, capMs: 60000 },
    drainTimeoutMs: 30000,
    workerDeadMs: 30000,
    workerRetentionMs: 24 * 3600 * 1000,
    jobRetentionMs: 7 * 24 * 3600 * 1000,
    blobGraceMs: null,
    sweepIntervalMs: 10 * 60 * 1000,
    zstd: { codec: 'auto', level: 3, frameBytes: MiB },
    commitWindowMs: 2,
    requireImageLabel: false,
    pull: { timeoutSeconds: 600, maxBytes: 8 * GiB, atStart: false },
    gpus: { allow: false },
  };
}

/** RUNBOX_* variables and the config keys they set. */
const ENV_KEYS: Record<string, (value: string) => ConfigOverrides> = {
  RUNBOX_DATA_DIR: (v) => ({ dataDir: v }),
  RUNBOX_DB: (v) => ({ dbPath: v }),
  RUNBOX_HOST: (v) => ({ host: v }),
  RUNBOX_PORT: (v) => ({ port: intFrom('RUNBOX_PORT', v) }),
  RUNBOX_TOKEN: (v) => ({ token: v }),
  RUNBOX_SERVER: (v) => ({ server: v }),
  RUNBOX_WORKERS: (v) => ({ workers: intFrom('RUNBOX_WORKERS', v) }),
  RUNBOX_INSTANCE: (v) => ({ instance: v }),
  RUNBOX_DOCKER_SOCKET: (v) => ({ dockerSocket: v }),
  RUNBOX_ZSTD_CODEC: (v) => ({ zstd: { codec: v as ZstdCodecChoice } }),
  RUNBOX_RUNTIMES: (v) => ({ runtimes: jsonFrom('RUNBOX_RUNTIMES', v) as Config['runtimes'] }),
  // CI services (GitHub Actions, GitLab, Buildkite...) all set CI; a gate there is strict.
  // CI=false leaves a config file's choice alone: it only ever tightens.
  CI: (v) => (v === 'true' || v === '1' ? { requireImageLabel: true } : {}),
};

function intFrom(name: string, value: string): number {
  const n = Number(value);
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

/** Merges b over a. `runtimes` merges by name so a file can add one without repeating all. */
function merge<T>(a: T, b: unknown): T {
  if (!isPlainObject(b)) return a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? merge(out[key], value) : value;
  }
  return out as T;
}

export interface LoadConfigOptions {
  /** Path of a JSON config file; falls back to RUNBOX_CONFIG. */
  file?: string | undefined;
  /** Flag values, highest precedence. */
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  let config: ReturnType<typeof baseDefaults> = baseDefaults(env);
  const file = options.file ?? env.RUNBOX_CONFIG;
  if (file) config = merge(config, readConfigFile(file));
  for (const [name, toOverride] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') config = merge(config, toOverride(value));
  }
  if (options.overrides) config = merge(config, options.overrides);
  const dataDir = resolve(config.dataDir);
  const result: Config = {
    ...config,
    dataDir,
    dbPath: resolve(config.dbPath ?? join(dataDir, 'runbox.db')),
  };
  checkConfig(result);
  return deepFreeze(result);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RunboxError(
      'InvalidConfig',
      `cannot read config file ${file}: ${(error as Error).message}`,
      {
        field: 'config',
        cause: error,
      },
    );
  }
  const parsed = jsonFrom(`config file ${file}`, text);
  if (!isPlainObject(parsed)) {
    throw new RunboxError('InvalidConfig', `config file ${file} must hold a JSON object`, {
      field: 'config',
    });
  }
  return parsed;
}

function checkConfig(config: Config): void {
  const fail = (field: string, message: string): never => {
    throw new RunboxError('InvalidConfig', `${field}: ${message}`, { field });
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    fail('port', `${config.port} is not a TCP port (0-65535)`);
  }
  if (!Number.isInteger(config.workers) || config.workers < 0 || config.workers > 256) {
    fail('workers', `${config.workers} must be an integer from 0 to 256`);
  }
  if (!['auto', 'native', 'js'].includes(config.zstd.codec)) {
    fail('zstd.codec', `"${config.zstd.codec}" must be auto, native or js`);
  }
  for (const [name, runtime] of Object.entries(config.runtimes)) {
    if (
      !isPlainObject(runtime) ||
      typeof runtime.image !== 'string' ||
      !Array.isArray(runtime.command)
    ) {
      fail(`runtimes.${name}`, 'must be {"image": "...", "command": ["...", "{script}"]}');
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
  if (config.lease.heartbeatMs >= config.lease.expiryMs) {
    fail('lease.heartbeatMs', 'must be shorter than lease.expiryMs, or every lease expires');
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
 * Where the packaged binary writes its native addons before loading them
 * (src/native/seaAddons.ts): $XDG_CACHE_HOME/runbox/addons, by default
 * ~/.cache/runbox/addons. Not part of Config: it is needed before config loads.
 */
export function addonCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'runbox', 'addons');
}
