import { RunboxError } from '../errors/index.js';
import { parseClientArgs } from './clientArgs.js';
import { clientCommands } from './commands/clientCommands.js';
import { createContext } from './context.js';
import { processIO } from './output.js';
import { reportError } from './reportError.js';
import type { RunCliOptions } from './runCommands.js';

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

const noServer = () => {
  throw new RunboxError('Internal', 'the client-only CLI cannot start a server');
};

/**
 * runCli with the client commands alone (src/main.ts, for the command lines above). A
 * plain command line (clientArgs.ts) goes straight to the command's handler; anything
 * else, mistakes included, is parsed by yargs as in the full CLI, loaded only then.
 */
export async function runClientCli(
  given: string[],
  options: Omit<RunCliOptions, 'startRunbox'>,
): Promise<number> {
  const parsed = parseClientArgs(given);
  if (parsed) {
    const io = options.io ?? processIO;
    const ctx = createContext(io, noServer, options.handOff);
    let code = 0;
    const handler = clientCommands(ctx, (c) => {
      code = c;
    }).find((c) => String(c.command).split(' ')[0] === parsed.command)?.handler;
    if (handler) {
      try {
        await handler(parsed.args as never);
        return code;
      } catch (thrown) {
        return reportError(thrown, given.includes('--json'), io);
      }
    }
  }
  const { runCommands } = await import('./runCommands.js');
  return runCommands(given, { ...options, startRunbox: noServer }, (ctx, setCode) =>
    clientCommands(ctx, setCode),
  );
}
