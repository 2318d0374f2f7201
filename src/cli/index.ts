import yargs from 'yargs';
import { EXIT_CODES, RunboxError, toRunboxError } from '../errors/index.js';
import type { StartRunbox } from '../runboxTypes.js';
import { clientCommands } from './commands/clientCommands.js';
import { completionCommand } from './commands/completion.js';
import { configCommand } from './commands/configShow.js';
import { contractCommand } from './commands/contract.js';
import { doctorCommand } from './commands/doctor.js';
import { gcCommand } from './commands/gc.js';
import { healthcheckCommand } from './commands/healthcheck.js';
import { outputsCommand } from './commands/outputs.js';
import { pullCommand } from './commands/pull.js';
import { runtimesCommand } from './commands/runtimes.js';
import { scheduleCommand } from './commands/schedule.js';
import { serverCommands } from './commands/serverCommands.js';
import { webhooksCommand } from './commands/webhooks.js';
import { createContext } from './context.js';
import { exitCodeHelp } from './exitCodes.js';
import { GROUPS } from './flags.js';
import { processIO, type CliIO } from './output.js';

export interface RunCliOptions {
  startRunbox: StartRunbox;
  io?: CliIO;
  /** Terminal width for help; undefined when stdout is not a terminal. */
  columns?: number | undefined;
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

/** Parses argv, runs one command, and resolves with the process exit code. */
export async function runCli(given: string[], options: RunCliOptions): Promise<number> {
  const argv = jsonAfterCommand(given);
  const io = options.io ?? processIO;
  const ctx = createContext(io, options.startRunbox);
  const json = argv.includes('--json');
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.out((await import('../versionText.js')).versionText());
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
    .completion('__complete', false)
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      const command = argv.find((a) => !a.startsWith('-'));
      const pointer = command && known.has(command) ? `runbox ${command} --help` : 'runbox --help';
      throw new RunboxError('UsageError', `${message} (see \`${pointer}\`)`, { field: 'argv' });
    });
  const commands = [
    ...serverCommands(ctx, setCode),
    ...clientCommands(ctx, setCode),
    outputsCommand(ctx, setCode),
    runtimesCommand(ctx, setCode),
    contractCommand(ctx, setCode),
    doctorCommand(ctx, setCode),
    gcCommand(ctx, setCode),
    configCommand(ctx, setCode),
    completionCommand(ctx, setCode),
    healthcheckCommand(ctx, setCode),
    pullCommand(ctx, setCode),
    scheduleCommand(ctx, setCode),
    webhooksCommand(ctx, setCode),
  ];
  const known = new Set(commands.map((c) => String(c.command).split(' ')[0]));
  for (const cmd of commands) parser.command(cmd as never);
  parser.demandCommand(1, 'give a command');
  try {
    if (argv.length === 0) {
      // Bare `runbox` shows what it can do, as docker and gh do.
      io.out(await parser.getHelp());
      return 0;
    }
    await parser.parseAsync();
  } catch (thrown) {
    const error = toRunboxError(thrown);
    if (json) io.out(JSON.stringify({ error: error.toJSON() }, null, 2));
    else io.err(`runbox: ${error.type}: ${error.message}`);
    return EXIT_CODES[error.type] ?? 70;
  }
  return code;
}
