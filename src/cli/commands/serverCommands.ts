import type { CommandModule } from 'yargs';
import { exitCodeOf } from '../../api/jobView.js';
import type { RunningRunbox } from '../../runboxTypes.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { buildSubmitRequest, withJobFlags, type JobFlagValues } from '../jobFlags.js';
import { writeOutputs } from '../writeOutputs.js';

/**
 * Resolves when the process is told to stop. The first SIGTERM/SIGINT drains (running
 * jobs get drainTimeoutMs, then are killed and requeued); a second stops at once and
 * leaves what is running to be requeued by the next start.
 */
function untilSignalled(rb: RunningRunbox, log: (text: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (!signalled) {
        signalled = true;
        log(`runbox: ${signal}: draining (send again to stop at once)`);
        void rb.stop().then(resolve, resolve);
        return;
      }
      log(`runbox: ${signal} again: stopping now; running jobs requeue on the next start`);
      void rb.abort().finally(() => process.exit(130));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

type ServeFlags = GlobalFlags & { host?: string; port?: number; workers?: number; token?: string };

export function serverCommands(ctx: CliContext, setCode: (code: number) => void): CommandModule[] {
  const { io } = ctx;
  const serve: CommandModule = {
    command: 'serve',
    describe: 'Run the HTTP API, the queue and a worker pool in this process',
    builder: (y) =>
      y
        .option('host', {
          type: 'string',
          describe: 'Address to bind (default 127.0.0.1; others need a token)',
        })
        .option('port', { type: 'number', describe: 'Port (default 7070; 0 picks a free one)' })
        .option('workers', { type: 'number', describe: 'Concurrent job slots (default 2)' }),
    handler: async (raw) => {
      const args = raw as unknown as ServeFlags;
      const config = ctx.config(args, {
        ...(args.host !== undefined ? { host: args.host } : {}),
        ...(args.port !== undefined ? { port: args.port } : {}),
        ...(args.workers !== undefined ? { workers: args.workers } : {}),
      });
      const rb = await ctx.startRunbox(config, { api: true, workers: config.workers });
      io.err(`runbox: listening on ${rb.url} (workers: ${config.workers}, db: ${config.dbPath})`);
      await untilSignalled(rb, io.err);
      setCode(0);
    },
  };
  const worker: CommandModule = {
    command: 'worker',
    describe: 'Run only a worker pool against a database (beside `runbox serve`)',
    builder: (y) =>
      y.option('workers', { type: 'number', describe: 'Concurrent job slots (default 2)' }),
    handler: async (raw) => {
      const args = raw as unknown as ServeFlags;
      const config = ctx.config(args, args.workers !== undefined ? { workers: args.workers } : {});
      const rb = await ctx.startRunbox(config, { api: false, workers: config.workers });
      io.err(`runbox: worker pool running (workers: ${config.workers}, db: ${config.dbPath})`);
      await untilSignalled(rb, io.err);
      setCode(0);
    },
  };
  const run: CommandModule = {
    command: 'run <script>',
    describe: 'Run one job here and now, streaming its output; exits with its exit code',
    builder: (y) =>
      withJobFlags(y).option('output-dir', {
        alias: 'o',
        type: 'string',
        describe: 'Write the job outputs here',
      }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & JobFlagValues & { outputDir?: string };
      // The user of `runbox run` is the operator of that run: asking for GPUs allows them.
      const config = ctx.config(args, args.gpus !== undefined ? { gpus: { allow: true } } : {});
      const request = buildSubmitRequest(args);
      const rb = await ctx.startRunbox(config, { api: false, workers: 0, logLevel: 'warn' });
      try {
        const { job } = await rb.services.jobs.submit(request);
        rb.services.liveLogs.tap(job.id, (stream, chunk) =>
          (stream === 'stdout' ? io.stdout : io.stderr).write(chunk),
        );
        const onSignal = () => void rb.services.jobs.cancel(job.id);
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        await rb.startWorkers(1, job.id);
        const final = await rb.services.jobs.waitFinal(job.id);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (args.outputDir && final.result) {
          await writeOutputs(rb.services.store, final.result.outputs, args.outputDir);
        }
        if (args.json) io.out(JSON.stringify(final, null, 2));
        else if (final.error)
          io.err(
            `runbox: job ${final.id} ${final.status}: ${final.error.type}: ${final.error.message}`,
          );
        setCode(exitCodeOf(final));
      } finally {
        await rb.stop();
      }
    },
  };
  return [serve, worker, run];
}
