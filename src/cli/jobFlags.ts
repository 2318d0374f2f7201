import { isUtf8 } from 'node:buffer';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import type { Config, ConfigOverrides } from '../config.js';
import { InvalidSpecError, RunboxError } from '../errors/index.js';
import { parseGpusFlag } from '../spec/gpus.js';
import { checkSubmission } from '../spec/parseJobSpec.js';
import type { SubmitRequest } from '../spec/jobSpecSchema.js';
import { INPUT_BYTES_FIX, MAX_INPUT_BYTES } from '../spec/inputBytes.js';
import { parseSize } from '../spec/parseSize.js';
import { runtimeForScript } from '../spec/runtimeByExtension.js';
import { shownValue } from '../shownValue.js';
import { cameNotUtf8 } from './rawArgv.js';

/** Flags shared by `run` and `submit`: everything a job spec can say. */
export function withJobFlags<T>(yargs: Argv<T>) {
  return (
    yargs
      .positional('script', {
        type: 'string',
        describe: 'Script file to run (sent as the job script); none with --command',
      })
      .option('runtime', {
        type: 'string',
        describe: 'Runtime name (python:3.11, node:20, shell); default from the file extension',
      })
      .option('image', {
        type: 'string',
        describe:
          'Image to run instead of a runtime (needs --command unless a script runtime fits)',
      })
      .option('command', {
        type: 'string',
        array: true,
        describe:
          'argv to run instead of the runtime command: the words after it up to the next --flag (--command sh -c "echo hi")',
      })
      // Repeatable flags take one word each (docker's -e): as yargs' greedy arrays they
      // took every word after them, the script too (`runbox run --env A=1 job.py` said
      // it was missing its script). --command keeps the rest of the line: it is an argv
      // (runCommands' takeCommandWords).
      .option('arg', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'Extra argument after the script (repeatable; or the words after --)',
      })
      .option('file', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'Input file put in /work (repeatable; SRC or SRC:DEST)',
      })
      .option('timeout', {
        type: 'number',
        describe: 'Seconds before the job is killed (default 300)',
      })
      .option('env', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'K=V for the job (repeatable)',
      })
      .option('secret-env', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'K=V kept out of logs and API answers (repeatable)',
      })
      .option('env-file', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'File of K=V lines for the job (repeatable; # comments, blank lines skipped)',
      })
      .option('secret-env-file', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'File of K=V lines kept out of logs and answers, never on a command line',
      })
      .option('memory', { type: 'string', describe: 'Memory limit, e.g. 512m' })
      .option('cpus', { type: 'number', describe: 'CPU limit in cores' })
      .option('pids', { type: 'number', describe: 'Process limit' })
      .option('gpus', {
        type: 'string',
        describe: 'GPUs: a count, all, or device IDs 0,1 (the server must allow GPUs)',
      })
      .option('network', {
        choices: ['none', 'bridge'] as const,
        describe: 'Network (default none)',
      })
      .option('pull', {
        choices: ['if-not-present', 'always', 'never'] as const,
        describe: 'Image pull policy',
      })
      // Not --queue: that flag says where the queue database is (postgres://...).
      .option('queue-name', {
        type: 'string',
        describe: 'Named queue: only nodes serving it run the job (default "default")',
      })
      .option('priority', { type: 'number', describe: 'Lower runs first (default 0)' })
      .option('max-attempts', {
        type: 'number',
        describe: 'Attempts before the job fails for good',
      })
      .option('retry-on-exit', {
        type: 'number',
        array: true,
        nargs: 1,
        describe: 'Exit codes that retry (repeatable)',
      })
      .option('idempotency-key', {
        type: 'string',
        describe: 'A repeated key returns the existing job',
      })
      .option('webhook', {
        type: 'string',
        describe: 'URL POSTed the job (signed) when it ends; see README "Webhooks"',
      })
      .option('run-at', {
        type: 'string',
        describe:
          'ISO time with Z or an offset (2027-01-31T09:00:00Z) before which the job does not start',
      })
      .option('delay', {
        type: 'string',
        describe: 'Start no sooner than this from now: 30s, 5m, 1h30m',
      })
      .conflicts('delay', 'run-at')
  );
}

export interface JobFlagValues {
  script?: string | undefined;
  runtime?: string | undefined;
  image?: string | undefined;
  command?: string[] | undefined;
  arg?: string[] | undefined;
  /** The words after `--` (runCommands), the job's arguments after any --arg. */
  afterDash?: string[] | undefined;
  file?: string[] | undefined;
  timeout?: number | undefined;
  env?: string[] | undefined;
  secretEnv?: string[] | undefined;
  envFile?: string[] | undefined;
  secretEnvFile?: string[] | undefined;
  memory?: string | undefined;
  cpus?: number | undefined;
  pids?: number | undefined;
  gpus?: string | undefined;
  network?: 'none' | 'bridge' | undefined;
  pull?: 'if-not-present' | 'always' | 'never' | undefined;
  queueName?: string | undefined;
  priority?: number | undefined;
  maxAttempts?: number | undefined;
  retryOnExit?: number[] | undefined;
  idempotencyKey?: string | undefined;
  runAt?: string | undefined;
  delay?: string | undefined;
  webhook?: string | undefined;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "5m", "1h30m", "250ms", or bare seconds, in milliseconds. */
export function parseDelay(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)?/gy)];
  const consumed = parts.map((p) => p[0]).join('');
  if (
    parts.length === 0 ||
    consumed !== text.trim() ||
    (parts.length > 1 && parts.some((p) => !p[2]))
  ) {
    throw new RunboxError(
      'UsageError',
      `--delay "${text}" is not a duration like 30s, 5m or 1h30m (see \`runbox submit --help\`)`,
      { field: 'delay' },
    );
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? 's'] ?? 1000), 0);
}

/** What to do about a file that cannot be read, by its error code. */
const READ_FIXES: Record<string, string> = {
  EISDIR: 'it is a folder; give its files one by one (--file DIR/*)',
  ENOENT: 'no such file',
  EACCES: 'permission denied; make it readable by this user',
};

function readInput(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw unreadable(path, field, error);
  }
}

/**
 * The script and --file inputs, refused by size before they are read: the server would
 * refuse them anyway, after this process had held them in memory a few times over.
 */
function readInputs(entries: ReadonlyArray<{ path: string; field: string }>): Buffer[] {
  let total = 0;
  const regular = entries.map(({ path, field }) => {
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      throw unreadable(path, field, error);
    }
    if (!stats.isFile()) return false;
    total += stats.size;
    if (total > MAX_INPUT_BYTES) {
      throw new InvalidSpecError(
        field,
        `${path} brings the inputs to ${total} bytes: ${INPUT_BYTES_FIX}`,
      );
    }
    return true;
  });
  return entries.map(({ path, field }, i) => {
    if (regular[i]) return readInput(path, field);
    const bytes = readUpTo(path, field, MAX_INPUT_BYTES - total);
    total += bytes.length;
    return bytes;
  });
}

/**
 * A pipe or a device (`--file <(cmd)`, /dev/stdin, /dev/zero) has no size to check
 * before it is read: it is read up to what the inputs have left. Read whole, /dev/zero
 * grew runbox's memory until the kernel killed it.
 */
function readUpTo(path: string, field: string, budget: number): Buffer {
  const chunks: Buffer[] = [];
  let read = 0;
  let fd;
  try {
    // fd 0 itself: opening /dev/stdin fails (ENXIO) where stdin is a socket, as a
    // Node parent's pipes are.
    fd = path === STDIN ? 0 : openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, field, error);
  }
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, budget - read + 1));
      const n = readSync(fd, chunk);
      if (n === 0) return Buffer.concat(chunks, read);
      chunks.push(chunk.subarray(0, n));
      read += n;
      if (read > budget) {
        throw new InvalidSpecError(
          field,
          `${path} is not a regular file and gave more than the ${budget} bytes the inputs have left: ${INPUT_BYTES_FIX}`,
        );
      }
    }
  } catch (error) {
    if (error instanceof InvalidSpecError) throw error;
    throw unreadable(path, field, error);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** What `-` names (runCommands.ts dashIsStdin). */
export const STDIN = '/dev/stdin';

/**
 * Node decodes argv as UTF-8, each invalid byte becoming U+FFFD, so a file whose name is
 * not UTF-8 (a Latin-1 disk) cannot be opened by the name runbox was given: it said
 * "no such file" of a file `ls` shows. A pipe carries its bytes instead.
 */
const NOT_UTF8_NAME_FIX =
  'its name is not valid UTF-8, and command-line arguments reach runbox as UTF-8 (U+FFFD for each invalid byte), so that name opens nothing; rename the file, or pipe it: the script as `- --runtime R < FILE`, an input as `--file <(cat FILE):NAME`';

function unreadable(path: string, field: string, error: unknown): InvalidSpecError {
  const code = (error as NodeJS.ErrnoException).code;
  const fix =
    code === 'ENOENT' && path.includes('\uFFFD')
      ? NOT_UTF8_NAME_FIX
      : code === undefined
        ? undefined
        : READ_FIXES[code];
  return new InvalidSpecError(
    field,
    `cannot read ${path}: ${code ?? (error as Error).message}${fix ? ` (${fix})` : ''}`,
  );
}

/**
 * Text when the bytes are UTF-8 that JSON carries as it is; base64 otherwise. isUtf8
 * checks in place (decoding and re-encoding to compare made two more copies of every
 * input). Control bytes other than tab and line ends would each travel as a six-character
 * escape: 450 MB of NULs became a string V8 cannot hold.
 */
function fileEntry(content: Buffer, path: string) {
  return isUtf8(content) && !hasEscapedBytes(content)
    ? { path, content: content.toString('utf8') }
    : { path, content: content.toString('base64'), encoding: 'base64' as const };
}

function hasEscapedBytes(content: Buffer): boolean {
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return true;
  }
  return false;
}

function parsePairs(pairs: string[] | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      // A --secret-env given its value alone is the secret: not quoted back, as a
      // --secret-env-file line is not.
      const shown = field === 'secret-env' ? `a value (not repeated here)` : shownValue(pair);
      throw new InvalidSpecError(field, `${shown} must look like NAME=value`);
    }
    const name = pair.slice(0, eq);
    // The value is not quoted back: it may be a secret.
    if (cameNotUtf8(pair) && name.includes('\ufffd')) {
      // `--env $'\xff=1'` was "the value of \ufffd is not valid UTF-8".
      throw new InvalidSpecError(
        field,
        `a name before = is not valid UTF-8; a variable name is [A-Za-z_][A-Za-z0-9_]*`,
      );
    }
    if (cameNotUtf8(pair)) {
      throw new InvalidSpecError(
        field,
        `the value of ${name} is not valid UTF-8: environment values are sent as text (JSON), ` +
          `which cannot carry such bytes; ${BYTES_FIX}`,
      );
    }
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/** How to pass bytes that are not UTF-8 to a job. */
const BYTES_FIX =
  'put the bytes in a file and pass it with --file, or pass them base64-encoded and decode them in the job';

/**
 * The job's words (its arguments, --command), refused where the shell passed bytes that
 * are not UTF-8: Node decodes argv, so `runbox run job.sh $'\xff'` reached the job as
 * U+FFFD, silently. A job spec is JSON text and cannot carry them.
 */
function textWords(words: string[], field: 'args' | 'command'): string[] {
  words.forEach((word, i) => {
    if (!cameNotUtf8(word)) return;
    const which = field === 'args' ? `job argument ${i + 1}` : `--command word ${i + 1}`;
    throw new InvalidSpecError(
      `${field}.${i}`,
      `${which} is not valid UTF-8 (its bytes reached runbox as U+FFFD): a job spec is JSON text, ` +
        `which cannot carry such bytes; ${BYTES_FIX}`,
    );
  });
  return words;
}

/**
 * A name given both plain and secret: the secret's value was kept, silently, so the job
 * got neither what --env said nor a mask the user could tell was there.
 */
function refuseBothPlain(
  env: Record<string, string>,
  secret: Record<string, string>,
  envFlag: Record<string, string>,
  secretFlag: Record<string, string>,
): void {
  const name = Object.keys(env).find((key) => Object.hasOwn(secret, key));
  if (name === undefined) return;
  const plain = Object.hasOwn(envFlag, name) ? '--env' : '--env-file';
  const hidden = Object.hasOwn(secretFlag, name) ? '--secret-env' : '--secret-env-file';
  // A name too long to repeat (a 10 kB one was) is cut as shownValue cuts it.
  const shown = shownValue(name) === JSON.stringify(name) ? name : shownValue(name);
  throw new RunboxError(
    'UsageError',
    `${shown} is given by both ${plain} and ${hidden}; give it once: with ${hidden} to keep its value secret, or with ${plain}`,
    { field: hidden.slice(2) },
  );
}

/** parseJobSpec's rule for an env name, checked where the file and line are still known. */
const ENV_FILE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * KEY=VALUE lines, as `docker run --env-file` reads them: the value is everything after
 * the first `=`, taken literally (no quotes, no expansion); `#` lines and blank lines
 * are skipped; a CRLF line end is one line end.
 */
export function parseEnvFile(text: string, source: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      // The line itself is not quoted back: it may hold a secret value.
      throw new InvalidSpecError(field, `${source} line ${i + 1} must look like NAME=value`);
    }
    const name = line.slice(0, eq).trim();
    if (!ENV_FILE_NAME.test(name)) {
      // Caught here, the server named only "env.export A", not the file or the line. The
      // name is not quoted back either: a line of a secrets file may hold only a value.
      const hint = /^export\s/.test(name)
        ? 'drop the leading "export" (the file is read as docker --env-file reads it)'
        : 'write NAME=value, NAME of letters, digits and _ not starting with a digit';
      throw new InvalidSpecError(
        field,
        `${source} line ${i + 1}: the name before "=" is not a variable name; ${hint}`,
      );
    }
    out[name] = line.slice(eq + 1);
  });
  return out;
}

function readEnvFiles(paths: string[] | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const path of paths ?? []) {
    Object.assign(
      out,
      parseEnvFile(decodeEnvFile(readInput(path, field), path, field), path, field),
    );
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file as text, refused where it is not UTF-8: a job's environment travels as JSON
 * text, and a lossy decode would hand the job U+FFFD where the file had other bytes.
 */
export function decodeEnvFile(bytes: Buffer, source: string, field: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        strictUtf8.decode(bytes.subarray(start, i));
      } catch {
        break;
      }
      line += 1;
      start = i + 1;
    }
    // The line is not quoted back: it may hold a secret value.
    throw new InvalidSpecError(
      field,
      `${source} line ${line} is not valid UTF-8: environment values are sent as text; ` +
        'save the file as UTF-8, or pass the value base64-encoded and decode it in the job',
    );
  }
}

/** Turns a script path and flags into the request body the API takes. */
export function buildSubmitRequest(flags: JobFlagValues): SubmitRequest {
  const request: SubmitRequest = {};
  const files = (flags.file ?? []).map((spec, i) => {
    // A file whose own name holds a colon (log-12:00.txt) is SRC whole: split, it was
    // read as "log-12" and refused with ENOENT.
    const colon = existsSync(spec) ? -1 : spec.lastIndexOf(':');
    const [path, dest] =
      colon > 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, basename(spec)];
    return { path, dest, field: `files.${i}` };
  });
  if (!flags.script && !flags.command?.length) {
    // Nothing to run is a missing argument (64, README's exit codes); the server would
    // have named script.content, a field never typed here.
    throw new RunboxError('UsageError', 'give a script, or --runtime or --image with --command', {
      field: 'script',
    });
  }
  const script = flags.script ? [{ path: flags.script, field: 'script' }] : [];
  const inputs = readInputs([...script, ...files]);
  if (flags.script) request.script = fileEntry(inputs.shift()!, basename(flags.script));
  if (flags.image) request.image = flags.image;
  if (flags.runtime) request.runtime = flags.runtime;
  if (!flags.image && !flags.runtime) {
    const inferred = flags.script ? runtimeForScript(basename(flags.script)) : undefined;
    if (!inferred) {
      // Without a script (--command alone) there is no extension to speak of, and the
      // missing flag is the command line's (64).
      throw new RunboxError(
        flags.script ? 'InvalidSpec' : 'UsageError',
        flags.script
          ? `give --runtime or --image (no runtime is known for the extension of ${basename(flags.script)})`
          : 'give a script, or --runtime or --image with --command',
        { field: 'runtime' },
      );
    }
    request.runtime = inferred;
  }
  if (flags.command?.length) request.command = textWords(flags.command, 'command');
  const args = textWords([...(flags.arg ?? []), ...(flags.afterDash ?? [])], 'args');
  if (args.length) request.args = args;
  if (files.length) request.files = files.map((file, i) => fileEntry(inputs[i]!, file.dest));
  const envFlag = parsePairs(flags.env, 'env');
  const secretFlag = parsePairs(flags.secretEnv, 'secret-env');
  const env = { ...readEnvFiles(flags.envFile, 'env-file'), ...envFlag };
  const secret = { ...readEnvFiles(flags.secretEnvFile, 'secret-env-file'), ...secretFlag };
  refuseBothPlain(env, secret, envFlag, secretFlag);
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
  if (flags.queueName !== undefined) request.queue = flags.queueName;
  if (flags.priority !== undefined) request.priority = flags.priority;
  if (flags.maxAttempts !== undefined) request.max_attempts = flags.maxAttempts;
  if (flags.retryOnExit?.length) request.retry_on_exit_codes = flags.retryOnExit;
  if (flags.idempotencyKey) request.idempotency_key = flags.idempotencyKey;
  if (flags.webhook !== undefined) request.webhook_url = flags.webhook;
  if (flags.runAt) request.run_at = flags.runAt;
  if (flags.delay !== undefined) {
    request.run_at = new Date(Date.now() + parseDelay(flags.delay)).toISOString();
  }
  checkSubmission(request);
  return request;
}

/**
 * `runbox run` is the operator of its own run: what its flags ask for raises the
 * config's ceilings and allow-lists for that run only (a server's are never touched).
 * Values that do not parse are left for parseJobSpec to refuse, naming the field.
 */
export function raisedForRun(request: SubmitRequest, config: Readonly<Config>): ConfigOverrides {
  const ceilings: Partial<Config['ceilings']> = {};
  const raise = (key: keyof Config['ceilings'], asked: number | null | undefined) => {
    if (asked != null && asked > config.ceilings[key]) ceilings[key] = asked;
  };
  const limits = request.limits ?? {};
  if (limits.memory !== undefined) raise('memoryBytes', parseSize(limits.memory));
  raise('cpus', limits.cpus);
  raise('pids', limits.pids);
  raise('timeoutSeconds', request.timeout_seconds);
  const overrides: ConfigOverrides = { ceilings };
  const allow: Partial<Config['allow']> = {};
  if (request.network && !config.allow.networks.includes(request.network)) {
    allow.networks = [...config.allow.networks, request.network];
  }
  if (request.image) allow.images = [...config.allow.images, request.image];
  if (request.pull_policy && !config.allow.pullPolicies.includes(request.pull_policy)) {
    allow.pullPolicies = [...config.allow.pullPolicies, request.pull_policy];
  }
  overrides.allow = allow;
  return overrides;
}
