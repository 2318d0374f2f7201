import { EXIT_CODES, toRunboxError, type RunboxError } from '../errors/index.js';
import { shownText, type CliIO } from './output.js';

/**
 * How a command's failure is printed (one JSON document under --json, else one line on
 * stderr) and the exit code it gives: shared by yargs' path (runCommands.ts) and the
 * client commands' own parser (clientCli.ts), which must not load yargs for it.
 */
export function reportError(thrown: unknown, json: boolean, io: CliIO): number {
  const error = toRunboxError(thrown);
  if (json) io.out(JSON.stringify({ error: error.toJSON() }, null, 2));
  else io.err(`runbox: ${error.type}: ${shownText(error.message)}`);
  return exitCodeOf(error);
}

export function exitCodeOf(error: RunboxError): number {
  return EXIT_CODES[error.type] ?? 70;
}
