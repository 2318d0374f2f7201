import type { CommandModule } from 'yargs';
import type { CliContext, GlobalFlags } from '../context.js';
import { withData, withJson, withServer } from '../flags.js';
import { table } from '../output.js';

export function doctorCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'doctor',
    describe: 'Check engine, images, data dir, db, blobs, port',
    builder: (y) =>
      withJson(withServer(withData(y))).epilogue(
        'Exits 1 when any check fails. With --server URL it checks that server (health, ' +
          'engine, contract) instead of this machine.',
      ),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags;
      // The checks load dockerode and SQLite: only doctor pays for them.
      const { runChecks, serverChecks } = await import('./doctorChecks.js');
      const checks = args.server
        ? await serverChecks(ctx.client(args))
        : await runChecks(ctx.config(args));
      if (args.json) ctx.io.out(JSON.stringify({ checks }, null, 2));
      else {
        ctx.io.out(
          table([
            ['CHECK', 'STATE', 'DETAIL'],
            ...checks.map((c) => [c.name, c.state.toUpperCase(), c.detail]),
          ]),
        );
        for (const c of checks.filter((c) => c.fix)) ctx.io.out(`fix ${c.name}: ${c.fix}`);
      }
      setCode(checks.some((c) => c.state === 'fail') ? 1 : 0);
    },
  };
}
