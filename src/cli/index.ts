import yargs from 'yargs';
import { EXIT_CODES, RunboxError, toRunboxError } from '../errors/index.js';
import type { StartRunbox } from '../runboxTypes.js';
import { versionText } from '../versionText.js';
import { clientCommands } from './commands/clientCommands.js';
import { contractCommand } from './commands/contract.js';
import { doctorCommand } from './commands/doctor.js';
import { gcCommand } from './commands/gc.js';
import { healthcheckCommand } from './commands/healthcheck.js';
import { outputsCommand } from './commands/outputs.js';
import { pullCommand } from './commands/pull.js';
import { serverCommands } from './commands/serverCommands.js';
import { createContext } from './context.js';
import { processIO, type CliIO } from './output.js';

/** Exit codes, as `runbox --help` documents them. */
const EXIT_CODE_HELP = `Exit codes:
  0     success (run/submit --wait: the job succeeded)
  1-255 run/submit --wait: the job's own exit code when it exited non-zero
  ${EXIT_CODES.Timeout}   the job timed out          ${EXIT_CODES.OOMKilled}  the job was killed for memory (OOMKilled)
  ${EXIT_CODES.InvalidSpec}    invalid job spec (InvalidSpec)   ${EXIT_CODES.ImageUnavailable}   image unavailable / server unreachable
  ${EXIT_CODES.ContractMismatch}    contract mismatch or bad configuration (EX_CONFIG)
  ${EXIT_CODES.ImageUnlabelled}    contract check --require-label (or CI=true): the image has no io.runbox.contract label
  ${EXIT_CODES.Cancelled}   the job was cancelled       ${EXIT_CODES.Internal}   internal error
  64    usage error`;

export interface RunCliOptions {
  startRunbox: StartRunbox;
  io?: CliIO;
}

/** Parses argv, runs one command, and resolves with the process exit code. */
export async function runCli(argv: string[], options: RunCliOptions): Promise<number> {
  const io = options.io ?? processIO;
  const ctx = createContext(io, options.startRunbox);
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
  if (argv.includes('--version') || argv.includes('-V')) {
    io.out(versionText());
    return 0;
  }
  const parser = yargs(argv)
    .scriptName('runbox')
    .version(false)
    .option('config', {
      type: 'string',
      describe: 'JSON config file (or RUNBOX_CONFIG)',
      global: true,
    })
    .option('data-dir', {
      type: 'string',
      describe: 'Data directory (or RUNBOX_DATA_DIR)',
      global: true,
    })
    .option('db', { type: 'string', describe: 'Database file (or RUNBOX_DB)', global: true })
    .option('server', {
      type: 'string',
      describe: 'Server URL for client commands (or RUNBOX_SERVER)',
      global: true,
    })
    .option('json', { type: 'boolean', describe: 'Machine-readable output', global: true })
    .option('version', {
      alias: 'V',
      type: 'boolean',
      describe: 'Print version, commit, contract and Node version',
    })
    .epilogue(EXIT_CODE_HELP)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .strict()
    .demandCommand(1, 'give a command; see runbox --help')
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw new RunboxError('InvalidSpec', message, { field: 'argv' });
    });
  for (const cmd of [
    ...serverCommands(ctx, setCode),
    ...clientCommands(ctx, setCode),
    contractCommand(ctx, setCode),
    doctorCommand(ctx, setCode),
    gcCommand(ctx, setCode),
    healthcheckCommand(ctx, setCode),
    outputsCommand(ctx, setCode),
    pullCommand(ctx, setCode),
  ]) {
    parser.command(cmd as never);
  }
  try {
    await parser.help().parseAsync();
  } catch (thrown) {
    const error = toRunboxError(thrown);
    io.err(`runbox: ${error.type}: ${error.message}`);
    return error.field === 'argv' ? 64 : (EXIT_CODES[error.type] ?? 70);
  }
  return code;
}
