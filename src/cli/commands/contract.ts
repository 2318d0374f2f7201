import type { CommandModule } from 'yargs';
import type { CliContext } from '../context.js';
import { withJson } from '../flags.js';
import type { ContractArgs } from './contractActions.js';

export function contractCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'contract [action]',
    describe: "Show this build's result contract; export, check",
    builder: (y) =>
      withJson(y)
        .epilogue(
          '`check --against` exits 0 when compatible and 78 when not, with the fields that differ.',
        )
        .positional('action', { choices: ['show', 'export', 'check'] as const, default: 'show' })
        .option('out', { type: 'string', describe: 'export: file to write (default stdout)' })
        .option('against', {
          type: 'string',
          describe: 'check: FILE | http(s)://server | image:NAME',
        })
        .option('require-label', {
          type: 'boolean',
          describe:
            'check image:NAME: an image without an io.runbox.contract label fails (exit 80); on whenever CI=true',
        }),
    handler: async (raw) => {
      const { runContract } = await import('./contractActions.js');
      await runContract(ctx, raw as unknown as ContractArgs, setCode);
    },
  };
}
