import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Argv } from 'yargs';
import { InvalidSpecError, RunboxError } from '../errors/index.js';
import { parseGpusFlag } from '../spec/gpus.js';
import type { SubmitRequest } from '../spec/jobSpecSchema.js';

/** Flags shared by `run` and `submit`: everything a job spec can say. */
export function withJobFlags<T>(yargs: Argv<T>) {
  return yargs
    .positional('script', {
      type: 'string',
      describe: 'Script file to run (sent as the job script)',
    })
    .option('runtime', {
      type: 'string',
      describe: 'Runtime name (python:3.11, node:20, shell); default from the file extension',
    })
    .option('image', {
      type: 'string',
      describe: 'Image to run instead of a runtime (needs --command unless a script runtime fits)',
    })
    .option('command', {
      type: 'string',
      array: true,
      describe: 'argv to run instead of the runtime command',
    })
    .option('arg', {
      type: 'string',
      array: true,
      describe: 'Extra argument after the script (repeatable)',
    })
    .option('file', {
      type: 'string',
      array: true,
      describe: 'Input file put in /work (repeatable; SRC or SRC:DEST)',
    })
    .option('timeout', {
      type: 'number',
      describe: 'Seconds before the job is killed (default 300)',
    })
    .option('env', { type: 'string', array: true, describe: 'K=V for the job (repeatable)' })
    .option('secret-env', {
      type: 'string',
      array: true,
      describe: 'K=V kept out of logs and API answers (repeatable)',
    })
    .option('memory', { type: 'string', describe: 'Memory limit, e.g. 512m' })
    .option('cpus', { type: 'number', describe: 'CPU limit in cores' })
    .option('pids', { type: 'number', describe: 'Process limit' })
    .option('gpus', {
      type: 'string',
      describe: 'GPUs: a count, all, or device IDs 0,1 (the server must allow GPUs)',
    })
    .option('network', { choices: ['none', 'bridge'] as const, describe: 'Network (default none)' })
    .option('pull', {
      choices: ['if-not-present', 'always', 'never'] as const,
      describe: 'Image pull policy',
    })
    .option('priority', { type: 'number', describe: 'Lower runs first (default 0)' })
    .option('max-attempts', { type: 'number', describe: 'Attempts before the job fails for good' })
    .option('retry-on-exit', {
      type: 'number',
      array: true,
      describe: 'Exit codes that retry (repeatable)',
    })
    .option('idempotency-key', {
      type: 'string',
      describe: 'A repeated key returns the existing job',
    })
    .option('run-at', { type: 'string', describe: 'ISO time before which the job does not start' });
}

export interface JobFlagValues {
  script?: string | undefined;
  runtime?: string | undefined;
  image?: string | undefined;
  command?: string[] | undefined;
  arg?: string[] | undefined;
  file?: string[] | undefined;
  timeout?: number | undefined;
  env?: string[] | undefined;
  secretEnv?: string[] | undefined;
  memory?: string | undefined;
  cpus?: number | undefined;
  pids?: number | undefined;
  gpus?: string | undefined;
  network?: 'none' | 'bridge' | undefined;
  pull?: 'if-not-present' | 'always' | 'never' | undefined;
  priority?: number | undefined;
  maxAttempts?: number | undefined;
  retryOnExit?: number[] | undefined;
  idempotencyKey?: string | undefined;
  runAt?: string | undefined;
}

const RUNTIME_BY_EXTENSION: Record<string, string> = {
  '.py': 'python:3.11',
  '.js': 'node:20',
  '.mjs': 'node:20',
  '.cjs': 'node:20',
  '.sh': 'shell',
};

function readInput(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InvalidSpecError(
      field,
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function fileEntry(content: Buffer, path: string) {
  const text = content.toString('utf8');
  return Buffer.from(text, 'utf8').equals(content)
    ? { path, content: text }
    : { path, content: content.toString('base64'), encoding: 'base64' as const };
}

function parsePairs(pairs: string[] | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidSpecError(field, `"${pair}" must look like NAME=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Turns a script path and flags into the request body the API takes. */
export function buildSubmitRequest(flags: JobFlagValues): SubmitRequest {
  const request: SubmitRequest = {};
  if (flags.script) {
    request.script = fileEntry(readInput(flags.script, 'script'), basename(flags.script));
  }
  if (flags.image) request.image = flags.image;
  if (flags.runtime) request.runtime = flags.runtime;
  if (!flags.image && !flags.runtime) {
    const inferred = flags.script ? RUNTIME_BY_EXTENSION[extname(flags.script)] : undefined;
    if (!inferred) {
      throw new RunboxError(
        'InvalidSpec',
        'give --runtime or --image (no runtime is known for this file extension)',
        {
          field: 'runtime',
        },
      );
    }
    request.runtime = inferred;
  }
  if (flags.command?.length) request.command = flags.command;
  if (flags.arg?.length) request.args = flags.arg;
  if (flags.file?.length) {
    request.files = flags.file.map((spec, i) => {
      const colon = spec.lastIndexOf(':');
      const [src, dest] =
        colon > 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, basename(spec)];
      return fileEntry(readInput(src, `files.${i}`), dest);
    });
  }
  const env = parsePairs(flags.env, 'env');
  const secret = parsePairs(flags.secretEnv, 'secret-env');
  if (Object.keys(env).length + Object.keys(secret).length > 0) request.env = { ...env, ...secret };
  if (Object.keys(secret).length > 0) request.secret_env = Object.keys(secret);
  if (flags.timeout !== undefined) request.timeout_seconds = flags.timeout;
  const limits: NonNullable<SubmitRequest['limits']> = {};
  if (flags.memory !== undefined) limits.memory = flags.memory;
  if (flags.cpus !== undefined) limits.cpus = flags.cpus;
  if (flags.pids !== undefined) limits.pids = flags.pids;
  if (Object.keys(limits).length > 0) request.limits = limits;
  if (flags.gpus !== undefined) request.gpus = parseGpusFlag(flags.gpus);
  if (flags.network) request.network = flags.network;
  if (flags.pull) request.pull_policy = flags.pull;
  if (flags.priority !== undefined) request.priority = flags.priority;
  if (flags.maxAttempts !== undefined) request.max_attempts = flags.maxAttempts;
  if (flags.retryOnExit?.length) request.retry_on_exit_codes = flags.retryOnExit;
  if (flags.idempotencyKey) request.idempotency_key = flags.idempotencyKey;
  if (flags.runAt) request.run_at = flags.runAt;
  return request;
}
