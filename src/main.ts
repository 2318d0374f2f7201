import { versionText } from './versionText.js';

const argv = process.argv.slice(2);

// `--version` answers before the rest of runbox (fastify, dockerode, the queue) is
// loaded: CI and scripts call it often, and loading everything triples its time.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${versionText()}\n`);
} else {
  void (async () => {
    const [{ runCli }, { startRunbox }] = await Promise.all([
      import('./cli/index.js'),
      import('./runbox.js'),
    ]);
    process.exitCode = await runCli(argv, { startRunbox });
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  });
}
