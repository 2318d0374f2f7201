import type { CommandModule } from 'yargs';
import { Queue } from '../../queue/Queue.js';
import { createBlobStore, formatBytes } from '../../storage/index.js';
import { retentionSweep } from '../../worker/retentionSweep.js';
import type { CliContext, GlobalFlags } from '../context.js';

export function gcCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'gc',
    describe: 'Delete jobs past retention and blobs no job refers to; report what was freed',
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags;
      const config = ctx.config(args);
      const queue = Queue.open(config);
      try {
        const store = await createBlobStore(config);
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
        queue.close();
      }
    },
  };
}
