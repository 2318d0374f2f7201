/**
 * A hand-written parser for the plain command lines of the client commands, so that a
 * `runbox submit` does not load and build yargs (~25 ms of its ~100 ms above Node's own
 * start; README, Performance). It accepts only what it reads exactly as yargs would
 * (the flags runCommands declares for these commands, in their plain forms) and answers
 * null for anything else: a mistake (unknown flag, missing or non-finite value, bad
 * choice, conflicting flags), or a form yargs reads in its own way (`--no-x`, `-qf`,
 * `--x=true`, an array flag followed by more words, quoted words, `--`). yargs then
 * parses that command line as before, so its errors, help and exit codes stay yargs'
 * own. test/unit/clientArgs.test.ts checks it against yargs on many command lines.
 */

import { canonicalJobId } from '../queue/ids.js';

type Kind = 'string' | 'number' | 'boolean' | 'strings' | 'numbers';

interface Flag {
  kind: Kind;
  choices?: readonly string[];
  /** A one-letter alias (-f, -q). */
  short?: string;
}

interface ClientCommand {
  /** The positional argument's name, if the command takes one (it is then required). */
  positional?: string;
  /** yargs' coerce of the positional (flags.ts): a value it refuses is left to yargs to refuse. */
  coerce?: (value: string) => string;
  flags: Record<string, Flag>;
  /** Pairs of flags that cannot be given together (yargs' .conflicts). */
  conflicts?: [string, string][];
  /** Values yargs fills in when the flag is not given. */
  defaults?: Record<string, unknown>;
}

const str: Flag = { kind: 'string' };
const num: Flag = { kind: 'number' };
const bool: Flag = { kind: 'boolean' };
const strs: Flag = { kind: 'strings' };

const SERVER = { server: str };
const JSON_FLAG = { json: bool };
const DATA = { 'data-dir': str, db: str, blobs: str, queue: str };
/** withJobFlags (jobFlags.ts). */
const JOB = {
  runtime: str,
  image: str,
  command: strs,
  arg: strs,
  file: strs,
  timeout: num,
  env: strs,
  'secret-env': strs,
  'env-file': strs,
  'secret-env-file': strs,
  memory: str,
  cpus: num,
  pids: num,
  gpus: str,
  network: { kind: 'string', choices: ['none', 'bridge'] },
  pull: { kind: 'string', choices: ['if-not-present', 'always', 'never'] },
  'queue-name': str,
  priority: num,
  'max-attempts': num,
  'retry-on-exit': { kind: 'numbers' },
  'idempotency-key': str,
  webhook: str,
  'run-at': str,
  delay: str,
} satisfies Record<string, Flag>;

/** withJobId (flags.ts). */
const JOB_ID = { positional: 'id', coerce: (id: string) => canonicalJobId(id) };

/** The same flags as clientCommands.ts declares through yargs, command by command. */
export const CLIENT_COMMAND_FLAGS: Record<string, ClientCommand> = {
  submit: {
    positional: 'script',
    flags: { ...JOB, ...SERVER, ...JSON_FLAG, wait: bool, follow: bool },
    conflicts: [['delay', 'run-at']],
  },
  status: { ...JOB_ID, flags: { ...DATA, ...SERVER, ...JSON_FLAG } },
  logs: {
    ...JOB_ID,
    flags: {
      ...DATA,
      ...SERVER,
      follow: { kind: 'boolean', short: 'f' },
      stderr: bool,
      'reconnect-seconds': num,
    },
    defaults: { 'reconnect-seconds': 60 },
  },
  ls: {
    flags: {
      ...DATA,
      ...SERVER,
      ...JSON_FLAG,
      status: {
        kind: 'string',
        choices: ['queued', 'running', 'succeeded', 'failed', 'cancelled'],
      },
      limit: num,
      quiet: { kind: 'boolean', short: 'q' },
      all: bool,
      cursor: str,
    },
    conflicts: [['all', 'cursor']],
    defaults: { limit: 50 },
  },
  cancel: { ...JOB_ID, flags: { ...SERVER, ...JSON_FLAG } },
  queues: { flags: { ...SERVER, ...JSON_FLAG } },
  workers: { flags: { ...DATA, ...SERVER, ...JSON_FLAG } },
};

/** The global flags runCommands declares (besides --help and --version, never here). */
const GLOBAL: Record<string, Flag> = { config: str };

export interface ClientArgs {
  command: string;
  /** Every flag under its name and its camelCase name, as yargs gives them to handlers. */
  args: Record<string, unknown>;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
/** Decimal numbers only: anything else (1e3, 0x10, .5, Infinity) is left to yargs. */
const NUMBER = /^-?\d+(\.\d+)?$/;
/** yargs-parser strips the quotes around a word that starts and ends with one. */
const QUOTED = /^(["']).*\1$/s;

/**
 * The command and its args for a plain client command line, or null when yargs must
 * read it (see above). Flags may come anywhere after the command word; before it only
 * --config (and --json, which runCommands moves after it).
 */
export function parseClientArgs(argv: readonly string[]): ClientArgs | null {
  const commandAt = argv.findIndex((a, i) => !a.startsWith('-') && argv[i - 1] !== '--config');
  const command = argv[commandAt];
  const spec = command === undefined ? undefined : CLIENT_COMMAND_FLAGS[command];
  if (!spec || !Object.prototype.hasOwnProperty.call(CLIENT_COMMAND_FLAGS, command!)) return null;
  const flags: Record<string, Flag> = { ...GLOBAL, ...spec.flags };
  const args: Record<string, unknown> = {};
  const positionals: string[] = [];
  const set = (name: string, value: unknown) => {
    args[name] = value;
    const alias = camel(name);
    if (alias !== name) args[alias] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    if (i === commandAt) continue;
    const word = argv[i]!;
    if (word === '' || QUOTED.test(word)) return null;
    if (!word.startsWith('-')) {
      if (i < commandAt) return null;
      positionals.push(word);
      continue;
    }
    if (
      i < commandAt &&
      !(word === '--json' || word === '--config' || word.startsWith('--config='))
    )
      return null;
    let name: string;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      inline = eq === -1 ? undefined : word.slice(eq + 1);
    } else {
      // One short alias alone (-f, -q); bundles (-qf) and the rest go to yargs.
      const short = word.slice(1);
      const long = Object.keys(flags).find((n) => flags[n]!.short === short);
      if (!long || inline !== undefined) return null;
      name = long;
    }
    const flag = Object.prototype.hasOwnProperty.call(flags, name) ? flags[name] : undefined;
    if (!flag) return null;
    const repeatable = flag.kind === 'strings' || flag.kind === 'numbers';
    if (!repeatable && Object.prototype.hasOwnProperty.call(args, name)) return null;
    const next = argv[i + 1];
    if (flag.kind === 'boolean') {
      // `--wait=false`, `--wait true`: yargs reads the value; left to it.
      if (inline !== undefined || next === 'true' || next === 'false') return null;
      set(name, true);
      continue;
    }
    let value: string;
    if (inline !== undefined) value = inline;
    else {
      if (next === undefined || i + 1 === commandAt) return null;
      value = next;
      i++;
    }
    if (value === '' || QUOTED.test(value)) return null;
    const numeric = flag.kind === 'number' || flag.kind === 'numbers';
    if (numeric ? !NUMBER.test(value) : value.startsWith('-')) return null;
    if (flag.choices && !flag.choices.includes(value)) return null;
    // An array flag takes every word after it up to the next flag: left to yargs.
    const after = argv[i + 1];
    if (repeatable && after !== undefined && !after.startsWith('-') && i + 1 !== commandAt) {
      return null;
    }
    const parsed = numeric ? Number(value) : value;
    if (repeatable) set(name, [...((args[name] as unknown[] | undefined) ?? []), parsed]);
    else set(name, parsed);
  }

  if (spec.positional ? positionals.length !== 1 : positionals.length !== 0) return null;
  for (const [a, b] of spec.conflicts ?? []) {
    if (a in args && b in args) return null;
  }
  for (const [name, value] of Object.entries(spec.defaults ?? {})) {
    if (!(name in args)) set(name, value);
  }
  if (spec.positional) {
    let value = positionals[0]!;
    try {
      value = spec.coerce ? spec.coerce(value) : value;
    } catch {
      return null;
    }
    args[spec.positional] = value;
  }
  return { command: command!, args };
}
