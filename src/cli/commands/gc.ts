import type { CommandModule } from 'yargs';
import type { CliContext, GlobalFlags } from '../context.js';
import { withData, withJson } from '../flags.js';

export function gcCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'gc',
    describe: 'Delete expired jobs and unreferenced blobs',
    builder: (y) => withJson(withData(y)),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags;
      const config = ctx.config(args);
      const [
        { checkBlobDir, createQueue, createBlobStore, createBlobLedger, queueLocation },
        { formatBytes },
        { retentionSweep },
      ] = await Promise.all([
        import('../../backends.js'),
        import('../../storage/fs/diskSpace.js'),
        import('../../maintenance/retentionSweep.js'),
      ]);
      await checkBlobDir(config);
      const queue = await createQueue(config);
      try {
        const ledger = config.blobs?.kind === 's3' ? await createBlobLedger(queue) : null;
        const store = await createBlobStore(config, {
          ...(ledger ? { ledger } : {}),
          owner: { id: queue.databaseId, location: queueLocation(config) },
        });
        const report = await retentionSweep({ queue, store, config });
        if (args.json) ctx.io.out(JSON.stringify(report, null, 2));
        else {
          ctx.io.out(
            `deleted ${report.deletedJobs} job(s) and ${report.deletedWorkers} dead worker row(s); ` +
              `removed ${report.removedBlobs} blob(s), freed ${formatBytes(report.freedBytes)}`,
          );
        }
        setCode(0);
      } finally {
        await queue.close();
      }
    },
  };
}
