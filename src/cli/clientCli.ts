import { RunboxError } from '../errors/index.js';
import { clientCommands } from './commands/clientCommands.js';
import { runCommands, type RunCliOptions } from './runCommands.js';

/**
 * The commands the client-only build runs by itself: each one talks to a server over
 * HTTP and needs none of the server's code. The rest (and any --help, which lists
 * every command) go to the full CLI.
 */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'submit',
  'status',
  'logs',
  'ls',
  'cancel',
  'queues',
  'workers',
]);

/** The command word of argv: the first word that is neither a flag nor --config's value. */
export function commandWord(argv: readonly string[]): string | undefined {
  return argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--config');
}

/** Whether the client-only build can run this command line by itself. */
export function isClientCommandLine(argv: readonly string[]): boolean {
  const word = commandWord(argv);
  return (
    word !== undefined &&
    CLIENT_COMMANDS.has(word) &&
    !argv.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V')
  );
}

/** runCli with the client commands alone (src/main.ts, for the command lines above). */
export function runClientCli(
  given: string[],
  options: Omit<RunCliOptions, 'startRunbox'>,
): Promise<number> {
  return runCommands(
    given,
    {
      ...options,
      startRunbox: () => {
        throw new RunboxError('Internal', 'the client-only CLI cannot start a server');
      },
    },
    (ctx, setCode) => clientCommands(ctx, setCode),
  );
}
