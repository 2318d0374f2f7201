import yargs, { type CommandModule } from 'yargs';
import { editDistance } from '../editDistance.js';
import { RunboxError } from '../errors/index.js';
import type { StartRunbox } from '../runboxTypes.js';
import { createContext, type CliContext } from './context.js';
import { exitCodeHelp } from './exitCodes.js';
import { STDIN } from './jobFlags.js';
import { GROUPS } from './flags.js';
import { processIO, type CliIO } from './output.js';
import { reportError } from './reportError.js';
import { shownValue } from '../shownValue.js';

export interface RunCliOptions {
  startRunbox: StartRunbox;
  io?: CliIO;
  /** Terminal width for help; undefined when stdout is not a terminal. */
  columns?: number | undefined;
  /**
   * Set by the client-only build: gives the whole command to the full CLI when it needs
   * what the client build leaves out (the local database). Never resolves.
   */
  handOff?: (() => Promise<never>) | undefined;
}

/** Help lines stay within a terminal's width, and within 80 columns when piped. */
const helpWidth = (columns: number | undefined) => Math.min(100, columns ?? 80);

/**
 * `runbox --json contract check` (as scripts already write it) means the same as
 * `runbox contract check --json`; --json is declared on the commands that print, so
 * only their help shows it.
 */
function jsonAfterCommand(argv: string[]): string[] {
  // The first word that is neither a flag nor the value of --config names the command.
  const command = argv.findIndex((a, i) => !a.startsWith('-') && argv[i - 1] !== '--config');
  if (command <= 0 || !argv.slice(0, command).includes('--json')) return argv;
  return [
    ...argv.slice(0, command).filter((a) => a !== '--json'),
    ...argv.slice(command),
    '--json',
  ];
}

/**
 * `--memory -5m`: yargs reads a word that starts with a dash as flags unless it is a
 * plain negative number, so `-5m` became the flags -5 and -m, -m took the next word and
 * the command said it was missing its script. No runbox flag is a dash and a digit, so
 * such a word after `--name` is that flag's value, as `--name=-5m` says it unambiguously;
 * the flag's own check then judges it (limits.memory: "-5m" is not a size).
 */
export function valuesStartingWithDash(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (/^--[^=]+$/.test(word) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${word}=${next}`);
      i++;
    } else out.push(word);
  }
  return out;
}

/**
 * `--command sh -c 'echo hi'`: the command is an argv, and its own flags have one dash
 * far more often than not. yargs read `-c` as a flag of runbox's ("Unknown argument: c").
 * `--command` takes every word after it up to the next word that starts with `--` (a
 * runbox flag, or `--` before the job's arguments); `--command=--WORD` starts it with a
 * word that starts with `--`. The words are taken out of yargs' sight, as the words after `--`
 * are: it would also strip quotes off `'"x"'` and drop an empty last word. Each group
 * leaves `--command=argv` in their place, so yargs still sees the flag given.
 */
export function takeCommandWords(argv: readonly string[]): {
  argv: string[];
  words: string[] | undefined;
} {
  if (argv.includes('--get-yargs-completions')) return { argv: [...argv], words: undefined };
  const out: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (word !== '--command' && !word.startsWith('--command=')) {
      out.push(word);
      continue;
    }
    const before = words.length;
    if (word !== '--command') words.push(word.slice('--command='.length));
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) words.push(argv[++i]!);
    // With no words, `--command` stays as typed, for checkValueFlags to name.
    out.push(words.length === before ? word : COMMAND_PLACEHOLDER);
  }
  return { argv: out, words: words.length === 0 ? undefined : words };
}

const COMMAND_PLACEHOLDER = '--command=argv';

/**
 * `-` for a file is stdin, as `docker build -` and `kubectl apply -f -` have it:
 * `echo 'print(1)' | runbox run - --runtime python:3.11`. yargs reads a lone `-` as an
 * empty word, so the run said "give a script" to someone who had given one.
 */
export function dashIsStdin(argv: readonly string[]): string[] {
  // A completion request's last word is what was typed so far: `-` asks for the flags.
  if (argv.includes('--get-yargs-completions')) return [...argv];
  const end = argv.indexOf('--');
  return argv.map((word, i) => (word === '-' && (end === -1 || i < end) ? STDIN : word));
}

/** Parses argv, runs one command, and resolves with the process exit code. */
const NUMBER_EXAMPLES: Record<string, string> = {
  cpus: '1.5',
  port: '7070',
  'metrics-port': '9464',
  'retry-on-exit': '75',
};

/** What to type instead of a command other job runners (docker, gh, kubectl) have. */
const INSTEAD_OF: Record<string, string> = {
  show: 'runbox status ID shows a job',
  inspect: 'runbox status ID shows a job',
  get: 'runbox status ID shows a job',
  wait: 'runbox submit --wait waits for a new job; runbox logs -f ID follows a submitted one',
  ps: 'runbox ls lists jobs',
  list: 'runbox ls lists jobs',
  log: 'runbox logs ID prints its output',
  kill: 'runbox cancel ID stops a job',
  stop: 'runbox cancel ID stops a job',
  rm: 'runbox cancel ID stops a job; runbox gc deletes expired ones',
  exec: 'runbox run SCRIPT runs one here and now',
  start: 'runbox serve starts the server',
};

/** A number as a person writes one: 5, -3, 1.5, .5, 1e3. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** Throws a UsageError naming the first number flag whose value is not a finite number. */
export function checkNumberFlags(
  args: Record<string, unknown>,
  numberFlags: string[],
  argv: readonly string[],
): void {
  const dashAt = argv.indexOf('--');
  const words = dashAt === -1 ? argv : argv.slice(0, dashAt);
  for (const name of numberFlags) {
    // yargs reads an empty or blank value (`--priority ''`) as 0, and hex, octal and
    // binary (`--pids 0x10`) as numbers: only argv shows what was typed. A flag typed
    // last has no value, which yargs fills with the default (`ls --limit` listed 50).
    const typed = words.flatMap((a, i) =>
      a === `--${name}`
        ? [words[i + 1] ?? '']
        : a.startsWith(`--${name}=`)
          ? [a.slice(name.length + 3)]
          : [],
    );
    const blank = typed.some((text) => !DECIMAL.test(text.trim()));
    // A flag not given is absent; one given no value (`--priority` last) is undefined.
    if (!Object.prototype.hasOwnProperty.call(args, name)) continue;
    const value = args[name];
    for (const v of Array.isArray(value) ? value : [value]) {
      if (blank || typeof v !== 'number' || !Number.isFinite(v)) {
        throw new RunboxError(
          'UsageError',
          `--${name} takes a number, e.g. --${name} ${NUMBER_EXAMPLES[name] ?? '5'}`,
          { field: name },
        );
      }
    }
  }
}

/**
 * Throws a UsageError naming a flag given twice that takes one value. yargs makes an
 * array of it: `--server A --server B` reached the client as "A,B", `--timeout` twice
 * an InvalidSpec about an array, and `-o` twice crashed (Internal, 70).
 */
export function checkRepeatedFlags(
  args: Record<string, unknown>,
  options: { array: string[]; alias: Record<string, string[]> },
): void {
  const repeatable = new Set<string>();
  for (const name of options.array) {
    repeatable.add(name);
    for (const alias of options.alias[name] ?? []) repeatable.add(alias);
  }
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  for (const name of [...repeatable]) repeatable.add(camel(name));
  for (const [name, value] of Object.entries(args)) {
    if (name === '_' || name === 'afterDash' || !Array.isArray(value) || repeatable.has(name))
      continue;
    // The long name, as --help shows it, rather than the alias or camelCase key.
    const long =
      Object.entries(options.alias).find(
        ([key, aliases]) => key === name || aliases.includes(name),
      )?.[0] ?? name;
    const flag =
      long.length === 1 ? `-${long}` : `--${long.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new RunboxError('UsageError', `${flag} was given more than once; give it once`, {
      field: long,
    });
  }
}

/**
 * Throws a UsageError naming the first string flag typed with no value (`runbox run
 * job.sh -o`, `--image` last, `--command` with no words). yargs reads it as '' (or []),
 * and the run went on as if it had not been given: outputs not written, the default
 * runtime run in place of the image meant.
 */
export function checkValueFlags(
  args: Record<string, unknown>,
  stringFlags: string[],
  aliases: Record<string, string[]>,
  argv: readonly string[],
): void {
  const dashAt = argv.indexOf('--');
  const typed = dashAt === -1 ? argv : argv.slice(0, dashAt);
  for (const name of stringFlags) {
    // Positionals (`runbox pull` with no targets is []) are yargs' strings too.
    const spelled = [name, ...(aliases[name] ?? [])].map((n) =>
      n.length === 1 ? `-${n}` : `--${n}`,
    );
    if (!typed.some((word) => spelled.some((s) => word === s || word.startsWith(`${s}=`))))
      continue;
    if (!Object.prototype.hasOwnProperty.call(args, name)) continue;
    const value = args[name];
    // Typed last, a flag with a default got the default (`serve --log-level` ran at info).
    const last = spelled.includes(typed[typed.length - 1] ?? '');
    // In a list an empty word is a value (`--arg ''` is the job's empty argument).
    if (!last && (Array.isArray(value) ? value.length > 0 : value !== '')) continue;
    const short = (aliases[name] ?? []).find((alias) => alias.length === 1);
    throw new RunboxError(
      'UsageError',
      `--${name}${short ? ` (-${short})` : ''} needs a value after it`,
      { field: name },
    );
  }
}

/**
 * yargs renders a command's whole --help text before running its handler
 * (cacheHelpMessage), so that a later failure could print it. runbox's failures never
 * print help (the fail handler above throws a RunboxError), and rendering it was ~20 ms
 * of a `runbox submit` (node --cpu-prof). yargs 17's internal API: if it changes,
 * nothing is skipped and nothing breaks.
 */
function skipHelpPrerender(parser: unknown): void {
  const internal = parser as {
    getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
  };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * The commands yargs is inside when it fails, `['schedule', 'add']`: a subcommand's flags
 * are on its own help page, not its parent's (`schedule --help` lists no --cron). yargs
 * 17's internal API: if it changes, the pointer names the top command as before.
 */
function commandPath(parser: unknown): string[] {
  return contextList(parser, 'commands');
}

/**
 * The usage lines of the commands yargs is inside, `['schedule', 'add <name>']`: what
 * the innermost one takes. yargs 17's internal API, as commandPath.
 */
function commandUsage(parser: unknown): string[] {
  return contextList(parser, 'fullCommands');
}

function contextList(parser: unknown, key: 'commands' | 'fullCommands'): string[] {
  const internal = parser as {
    getInternalMethods?: () => { getContext?: () => Record<string, unknown> };
  };
  const list = internal.getInternalMethods?.().getContext?.()[key];
  return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
}

/**
 * yargs' "Unknown argument: b" for `runbox cancel a b` read as a flag problem: words
 * typed bare, past what the command takes, are named as arguments too many.
 */
function extraPositional(
  words: readonly string[],
  parser: unknown,
  argv: readonly string[],
): string | null {
  const usage = commandUsage(parser);
  const end = argv.indexOf('--');
  const bare = (end === -1 ? argv : argv.slice(0, end)).filter((w) => !w.startsWith('-'));
  if (usage.length === 0 || !words.every((word) => bare.includes(word))) return null;
  const quoted = words.map((word) => JSON.stringify(word)).join(', ');
  const many = words.length === 1 ? 'is one argument' : 'are arguments';
  // `runbox run job.py input.csv` most likely meant input.csv for the job.
  const forJob = /[<[]script[>\]]/.test(usage.at(-1)!)
    ? "; the job's own arguments go after --"
    : '';
  return `${quoted} ${many} too many: runbox ${usageLine(usage)}${forJob}`;
}

/** `schedule add <name> [script]` from yargs' ['schedule', 'add <name> [script]']. */
function usageLine(usage: readonly string[]): string {
  return usage.map((line, i) => (i === usage.length - 1 ? line : line.split(' ')[0]!)).join(' ');
}

/**
 * yargs' "Not enough non-option arguments: got 0, need at least 1" named nothing a user
 * could act on (`runbox status`, `runbox submit --command sh -c 'echo hi'`, whose
 * --command took every word): the command's usage line names what is missing.
 */
function withMissingPositional(message: string, parser: unknown): string {
  const counts = /^Not enough non-option arguments: got (\d+), need at least \d+$/.exec(message);
  const usage = commandUsage(parser);
  if (!counts || usage.length === 0) return message;
  const missing = (usage.at(-1)!.match(/<[^>]+>/g) ?? []).slice(Number(counts[1]));
  if (missing.length === 0) return message;
  return `missing ${missing.join(' ')}: runbox ${usageLine(usage)}`;
}

/**
 * yargs' "Not enough arguments following: env" as the other flags typed without a value
 * say it. yargs takes a word starting with a dash for a flag, so `--arg -c` is such a
 * flag too: the message shows the `=` form that carries that value.
 */
function withMissingValue(message: string, argv: readonly string[]): string {
  const missing = /^Not enough arguments following: (\S+)$/.exec(message);
  if (!missing) return message;
  const flag = `--${missing[1]!}`;
  const end = argv.indexOf('--');
  const at = argv.findIndex((word, i) => word === flag && (end === -1 || i < end));
  const next = at === -1 ? undefined : argv[at + 1];
  const dashed =
    next !== undefined && next !== '--' && next.startsWith('-') && !next.startsWith('--');
  return `${flag} needs a value after it${dashed ? `; one that starts with "-" is written ${flag}=${next}` : ''}`;
}

/**
 * yargs' "Invalid values:\n  Argument: network, Given: \"host\", Choices: ..." on one line
 * per flag, each value quoted through shownValue: `--catch-up <10 kB>` was repeated whole.
 * yargs writes each given value as JSON and no choice holds ", Choices: ".
 */
function withChoices(message: string): string {
  if (!message.startsWith('Invalid values:\n')) return message;
  const lines = message.split('\n').slice(1);
  const said = lines.map((line) => {
    const parts = /^ {2}Argument: ([^,]+), Given: (.*)$/s.exec(line);
    const at = parts?.[2]!.lastIndexOf(', Choices: ') ?? -1;
    if (!parts || at === -1) return undefined;
    let given: unknown[];
    try {
      given = JSON.parse(`[${parts[2]!.slice(0, at)}]`) as unknown[];
    } catch {
      return undefined;
    }
    const choices = parts[2]!.slice(at + ', Choices: '.length);
    return `--${parts[1]!} ${given.map(shownValue).join(', ')} is not one of ${choices}`;
  });
  return said.every((s) => s !== undefined) ? said.join('; ') : message;
}

/** Every long flag of the command being run, as --help names them. */
function flagsOf(parser: unknown): string[] {
  // getOptions() is yargs' own (untyped): every flag of the command being run.
  return Object.keys(
    (parser as { getOptions(): { key: Record<string, unknown> } }).getOptions().key,
  ).filter((flag) => flag.length > 1 && !flag.includes('$') && !/[A-Z]/.test(flag));
}

/** The flag nearest a mistyped word, if one is near enough to be what was meant. */
function nearestFlag(word: string, flags: readonly string[]): string | undefined {
  return flags
    .map((flag) => ({ flag, distance: editDistance(flag, word) }))
    .filter(({ distance }) => distance <= Math.min(2, word.length - 1))
    .sort((a, b) => a.distance - b.distance)[0]?.flag;
}

/**
 * "Unknown argument: timout" with the flag that was meant, as git and config keys have
 * it: `--timout 30` named no flag, and the help to find it in is 40 lines long.
 */
function withFlagSuggestions(message: string, parser: unknown, argv: readonly string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (!unknown) return message;
  const extra = extraPositional(unknown[1]!.split(', '), parser, argv);
  if (extra !== null) return extra;
  const flags = flagsOf(parser);
  const words = unknown[1]!.split(', ');
  const kebab = (word: string) => word.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  // yargs names `--output-dri` twice, the second time as outputDri.
  const typed = words.filter((word) => word === kebab(word) || !words.includes(kebab(word)));
  const named = typed.map((word) => {
    const near = nearestFlag(word, flags);
    return near ? `${word} (did you mean --${near}?)` : word;
  });
  const label = named.length === 1 ? 'Unknown argument' : 'Unknown arguments';
  return `${label}: ${named.join(', ')}`;
}

/**
 * yargs says a required flag is missing before it says another is unknown: `schedule
 * add n --crn '* * * * *'` said only "Missing required argument: cron". A typed flag
 * the command does not know, near the missing one, is named as the one meant.
 */
function withMistypedRequired(message: string, parser: unknown, argv: readonly string[]): string {
  const missing = /^Missing required arguments?: (.+)$/.exec(message);
  if (!missing) return message;
  const flags = flagsOf(parser);
  const end = argv.indexOf('--');
  const unknown = (end === -1 ? argv : argv.slice(0, end))
    .filter((word) => word.startsWith('--'))
    .map((word) => word.slice(2).split('=')[0]!)
    .filter((name) => name !== '' && !flags.includes(name));
  const hints = unknown.flatMap((name) => {
    const near = nearestFlag(name, missing[1]!.split(', '));
    return near ? [`--${name} is not a flag: did you mean --${near}?`] : [];
  });
  return hints.length === 0 ? message : `${message}; ${hints.join('; ')}`;
}

export type CommandSet = (
  ctx: CliContext,
  setCode: (code: number) => void,
) => Pick<CommandModule, 'command'>[];

/**
 * Parses argv against a set of commands, runs one, and resolves with the exit code.
 * The full CLI (index.ts) passes every command; the client-only build (clientCli.ts)
 * passes the client commands alone, so that it bundles none of the server's code.
 */
export async function runCommands(
  given: string[],
  options: RunCliOptions,
  commandSet: CommandSet,
): Promise<number> {
  const taken = takeCommandWords(jsonAfterCommand(given));
  const argv = valuesStartingWithDash(dashIsStdin(taken.argv));
  const io = options.io ?? processIO;
  const ctx = createContext(io, options.startRunbox, options.handOff);
  // Words after `--` are the job's own (`runbox run job.py -- -v "a b"`), never flags.
  const dashAt = argv.indexOf('--');
  const afterDash = dashAt === -1 ? undefined : argv.slice(dashAt + 1);
  const json = (dashAt === -1 ? argv : argv.slice(0, dashAt)).includes('--json');
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
  // Every command's help lists -V/--version among its global options; anywhere but
  // alone it was ignored (`ls --version` listed jobs) or ended in a usage error.
  const flagWords = dashAt === -1 ? argv : argv.slice(0, dashAt);
  if (
    flagWords.some((w) => w === '--version' || w === '-V') &&
    !flagWords.some((w) => w === '--help' || w === '-h')
  ) {
    const { versionInfo, versionText } = await import('../versionText.js');
    io.out(json ? JSON.stringify(versionInfo(), null, 2) : versionText());
    return 0;
  }
  const parser = yargs(argv)
    .scriptName('runbox')
    .usage(
      'runbox <command> [options]\n\nRun scripts in sandboxed Docker containers, here or on a server.',
    )
    .version(false)
    .option('config', {
      type: 'string',
      describe: 'JSON config file (or RUNBOX_CONFIG)',
      global: true,
    })
    .option('version', {
      alias: 'V',
      type: 'boolean',
      describe: 'Print version, commit, contract and Node version',
    })
    .help()
    .alias('help', 'h')
    .group(['config', 'help'], GROUPS.global)
    .group(['version'], GROUPS.global)
    .epilogue(exitCodeHelp())
    .wrap(helpWidth(options.columns))
    .strict()
    // yargs reads `--priority abc` as NaN, which would go to the server and come back
    // as InvalidSpec (65) after a request. A number flag given no finite number is the
    // command line's mistake: a UsageError (64) naming the flag, before any request.
    // Ranges and integer-ness stay the server's (parseJobSpec's) to judge.
    .check((args) => {
      // getOptions() is yargs' own (untyped): the flags declared `type: 'number'` by
      // the command being run and the global ones.
      const options = (
        parser as unknown as {
          getOptions(): {
            number: string[];
            string: string[];
            array: string[];
            alias: Record<string, string[]>;
          };
        }
      ).getOptions();
      checkNumberFlags(args, options.number, argv);
      checkValueFlags(args, options.string, options.alias, argv);
      checkRepeatedFlags(args, options);
      return true;
    }, true)
    // yargs would put the words after `--` among the positionals, where every command
    // but those below ignored them (`runbox run job.py -- x` ran the job without x),
    // and reads them as numbers ("1e3" became 1000): they are kept as typed instead.
    .middleware((args) => {
      if (taken.words) args.command = taken.words;
      if (!afterDash?.length) return;
      const words = args._.map(String);
      const takesArgs =
        words[0] === 'run' ||
        words[0] === 'submit' ||
        (words[0] === 'schedule' && words[1] === 'add');
      if (!takesArgs) {
        throw new RunboxError(
          'UsageError',
          `only run, submit and schedule add take words after -- (the job's arguments) (see \`runbox ${words[0]} --help\`)`,
          { field: 'argv' },
        );
      }
      args.afterDash = afterDash;
      args._ = args._.slice(0, args._.length - afterDash.length);
    })
    .completion(
      '__complete',
      false,
      (
        _current: string,
        _argv: unknown,
        defaults: (then: (error: Error | null, completions?: string[]) => void) => void,
        done: (completions: string[]) => void,
      ) => {
        // After `--`, yargs offers one-letter aliases as `--V` and `--o` (zsh: `--V:desc`):
        // they are -V and -o, and their long names are offered beside them.
        defaults((_error, completions) =>
          done((completions ?? []).filter((c) => !/^--[^-:](:|$)/.test(c))),
        );
      },
    )
    .exitProcess(false)
    .fail((message, error) => {
      const command = argv.find((a) => !a.startsWith('-'));
      const word = argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--config');
      if (!error && word !== undefined && !known.has(word)) {
        // yargs said "Unknown arguments: wait, ID", which reads as a flag problem.
        const instead = INSTEAD_OF[word];
        throw new RunboxError(
          'UsageError',
          `unknown command: ${word}${instead ? `; ${instead}` : ''} (see \`runbox --help\`)`,
          { field: 'command' },
        );
      }
      const nested = commandPath(parser);
      const pointer =
        nested.length > 1 && known.has(nested[0]!)
          ? `runbox ${nested.join(' ')} --help`
          : command && known.has(command)
            ? `runbox ${command} --help`
            : 'runbox --help';
      // A flag's own check (numberFlag) names the flag; it gets the pointer too.
      if (error instanceof RunboxError && error.type === 'UsageError') {
        throw new RunboxError('UsageError', `${error.message} (see \`${pointer}\`)`, {
          field: error.field,
        });
      }
      // yargs' own parse errors ("Not enough arguments following: env") come as a YError;
      // passed on as they were, they read as Internal (70), not the usage error they are.
      if (error && error.name !== 'YError') throw error;
      const text = withMissingPositional(
        withMistypedRequired(
          withMissingValue(
            withFlagSuggestions(withChoices(message ?? error?.message ?? ''), parser, argv),
            argv,
          ),
          parser,
          argv,
        ),
        parser,
      );
      throw new RunboxError('UsageError', `${text} (see \`${pointer}\`)`, {
        field: 'argv',
      });
    });
  skipHelpPrerender(parser);
  const commands = commandSet(ctx, setCode);
  const known = new Set(commands.map((c) => String(c.command).split(' ')[0]));
  for (const cmd of commands) parser.command(cmd as never);
  parser.demandCommand(1, 'give a command');
  try {
    if (argv.length === 0) {
      // Bare `runbox` shows what it can do, as docker and gh do.
      io.out(await parser.getHelp());
      return 0;
    }
    // yargs prints help with console.log, which drops a write error without a word:
    // `runbox run --help > /dev/full` exited 0. The stream's guard (output.ts) hears it.
    if (flagWords.some((w) => w === '--help' || w === '-h')) void io.stdout;
    await parser.parseAsync();
  } catch (thrown) {
    return reportError(thrown, json, io);
  }
  return code;
}
