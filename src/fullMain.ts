import { processIO } from './cli/output.js';

const argv = process.argv.slice(2);

// `--version` answers before the rest of runbox (fastify, dockerode, the queue) is
// loaded: CI and scripts call it often, and loading everything triples its time.
// versionText (the contract's TypeBox schema and its fingerprint) loads only here.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // Through processIO: `runbox --version > /dev/full` was an unhandled 'error' event.
  void import('./versionText.js').then(({ versionText }) => processIO.out(versionText()));
} else {
  void (async () => {
    const { runCli } = await import('./cli/index.js');
    process.exitCode = await runCli(argv, {
      // The server side (fastify, the queue, dockerode) loads only for the commands that
      // start it (serve, worker, run): a client command pays for the client alone.
      startRunbox: async (config, options) =>
        (await import('./runbox.js')).startRunbox(config, options),
      columns: (process.stdout.isTTY && process.stdout.columns) || undefined,
    });
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  });
}
