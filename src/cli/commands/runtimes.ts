import type { CommandModule } from 'yargs';
import type { RuntimeView } from '../../executor/runtimeImages.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withJson, withServer } from '../flags.js';
import { table } from '../output.js';

export function runtimesCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'runtimes',
    describe: 'List runtimes, their images, and which are present',
    builder: (y) =>
      withJson(withServer(y)).epilogue(
        "Without --server (or RUNBOX_SERVER) it lists this machine's runtimes, which " +
          "`runbox run` uses; with it, the server's.",
      ),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags;
      const { config, sources } = ctx.clientResolved(args);
      let runtimes: RuntimeView[];
      if (sources.server !== 'default') {
        ({ runtimes } = (
          await ctx
            .client(args)
            .json<{ runtimes: RuntimeView[] }>('GET', '/v1/runtimes', undefined, 'runtimes')
        ).body);
      } else {
        const [{ listRuntimes }, { createDocker }] = await Promise.all([
          import('../../executor/runtimeImages.js'),
          import('../../executor/dockerClient.js'),
        ]);
        runtimes = await listRuntimes(config, createDocker(config.dockerSocket));
      }
      if (args.json) ctx.io.out(JSON.stringify({ runtimes }, null, 2));
      else {
        ctx.io.out(
          table([
            ['RUNTIME', 'IMAGE', 'PRESENT', 'COMMAND'],
            ...runtimes.map((r) => [
              r.name,
              r.image,
              r.present === null ? 'unknown (engine down)' : r.present ? 'yes' : 'no',
              r.command.join(' '),
            ]),
          ]),
        );
      }
      setCode(0);
    },
  };
}
