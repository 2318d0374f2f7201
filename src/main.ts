// The entry of dist/runbox.cjs and of the single executable. A client command (submit,
// status, logs, ls, ...) runs from this small bundle: node:http, yargs and the client
// commands, about 1/10 of runbox. Anything else loads the full CLI (src/fullMain.ts:
// fastify, dockerode, SQLite, PostgreSQL, the AWS SDK), which is a separate file or SEA
// asset, so that a client command never reads or compiles it: that was most of a
// `runbox submit`'s time (README, Performance).
import { isClientCommandLine, runClientCli } from './cli/clientCli.js';
import { loadFullCli } from './fullCli.js';
import { processIO } from './cli/output.js';

const argv = process.argv.slice(2);

if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // CI and scripts call it often; the contract's schema it prints a fingerprint of is
  // small and already here for the client commands.
  // Through processIO: `runbox --version > /dev/full` was an unhandled 'error' event.
  void import('./versionText.js').then(({ versionText }) => processIO.out(versionText()));
} else if (isClientCommandLine(argv)) {
  void (async () => {
    process.exitCode = await runClientCli(argv, {
      // Read only when yargs renders help or an error (its width): touching
      // process.stdout creates the stream, which a plain command line never needs
      // (src/cli/output.ts).
      get columns() {
        return (process.stdout.isTTY && process.stdout.columns) || undefined;
      },
      // The local-database fallback of status/logs is not in this bundle: the full CLI
      // runs the same command line from the start (nothing has been printed yet).
      handOff: () => {
        loadFullCli();
        return new Promise<never>(() => {});
      },
    });
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  });
} else {
  loadFullCli();
}
