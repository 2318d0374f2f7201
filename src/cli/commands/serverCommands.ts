import type { CommandModule } from 'yargs';
import { exitCodeOf } from '../../api/jobView.js';
import { drained } from '../../drained.js';
import { RunboxError } from '../../errors/index.js';
import { queueSlotsFrom, type Config } from '../../config.js';
import { lifecycleLine } from '../../log.js';
import { LOG_LEVELS, type LogLevel } from '../../logLevels.js';
import { redactUrl } from '../../queueUrl.js';
import { serveMetrics } from '../../metricsServer.js';
import type { RunningRunbox } from '../../runboxTypes.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withData, withJson } from '../flags.js';
import { buildSubmitRequest, raisedForRun, withJobFlags, type JobFlagValues } from '../jobFlags.js';
import { bytesText, spinner, type Progress } from '../progress.js';
import { checkOutputDir, writeOutputs } from '../writeOutputs.js';
import { attemptBeginsLine, shownText } from '../output.js';

/** What the hard stop leaves behind, and what the next start does with it. */
const LEFT_RUNNING =
  'Running containers go on: the next runbox serve or worker here re-attaches each as ' +
  'the same attempt and records its result (also of one that ended meanwhile); a job ' +
  'whose container is gone is retried (WorkerLost), or fails if that was its last attempt.';

/**
 * Resolves when the process is told to stop. The first SIGTERM/SIGINT/SIGHUP drains
 * (running jobs get drainTimeoutMs, then are killed and requeued); a second stops at
 * once and leaves the containers running for the next start's recovery
 * (recoverContainers), which re-attaches them as the same attempt. Its line said
 * "running jobs requeue on the next start", so operators expected them to run again.
 * SIGHUP is a closed terminal here (there is nothing to reload): left to Node, it ended
 * the process on the spot, its jobs' containers running on and its worker registered as
 * alive.
 */
function untilSignalled(
  rb: RunningRunbox,
  log: (text: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (!signalled) {
        signalled = true;
        log(`runbox: ${signal}: draining (send again to stop at once)`, {
          event: 'draining',
          signal,
        });
        // A supervisor (or the operator reading the journal) sees the drain end: the
        // process exiting said nothing of whether it had finished its jobs.
        const draining = Date.now();
        const stopped = () => {
          const seconds = (Date.now() - draining) / 1000;
          log(`runbox: stopped after draining for ${seconds.toFixed(1)} s`, {
            event: 'stopped',
            drain_ms: Date.now() - draining,
          });
          resolve();
        };
        void rb.stop().then(stopped, resolve);
        return;
      }
      log(`runbox: ${signal} again: stopping now. ${LEFT_RUNNING}`, {
        event: 'stopping',
        signal,
      });
      void rb.abort().finally(() => process.exit(130));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onSignal);
  });
}

type ServeFlags = GlobalFlags & {
  host?: string;
  port?: number;
  workers?: number;
  queues?: string;
  advertiseUrl?: string;
  token?: string;
  logLevel: LogLevel;
};

const logLevelOption = {
  type: 'string',
  choices: LOG_LEVELS,
  default: 'info' as LogLevel,
  describe: 'Least severe log line written to stderr (JSON lines)',
} as const;

/**
 * Waits for a signal, or for the queue to refuse this build (a newer one raised the
 * contract stamp): then it drains and the command fails with that error (exit 78).
 */
async function untilStoppedOrRefused(rb: RunningRunbox, signalled: Promise<void>): Promise<void> {
  const refusal = await Promise.race([signalled.then(() => null), rb.refused]);
  if (refusal === null) return;
  await rb.stop();
  throw refusal;
}

const queuesOption = {
  type: 'string',
  describe:
    'Named queues served, with slots each: default:4,gpu:1 (or RUNBOX_QUEUES; default default:WORKERS)',
} as const;

function queuesOverride(args: ServeFlags): { queues?: Record<string, number> } {
  return args.queues === undefined ? {} : { queues: queueSlotsFrom('--queues', args.queues) };
}

const advertiseUrlOption = {
  type: 'string',
  describe:
    'URL other nodes reach this API at, for logs -f across nodes (or RUNBOX_ADVERTISE_URL; default http://HOST:PORT)',
} as const;

function advertiseOverride(args: ServeFlags): { advertiseUrl?: string } {
  return args.advertiseUrl === undefined ? {} : { advertiseUrl: args.advertiseUrl };
}

/** Job slots of this process: the named queues' in total, else `workers`. */
function slotsOf(config: Readonly<Config>): number {
  if (config.queues === null) return config.workers;
  return Object.values(config.queues).reduce((sum, n) => sum + n, 0);
}

/** What the start line says the process serves, without a password. */
function servingText(config: Readonly<Config>): string {
  const queues =
    config.queues === null
      ? `workers: ${config.workers}`
      : `queues: ${Object.entries(config.queues)
          .map(([name, n]) => `${name}:${n}`)
          .join(',')}`;
  const where =
    config.queue?.kind === 'postgres'
      ? `queue: ${redactUrl(config.queue.url)}`
      : `db: ${config.queue?.kind === 'sqlite' ? config.queue.path : config.dbPath}`;
  return `${queues}, ${where}`;
}

export function serverCommands(ctx: CliContext, setCode: (code: number) => void): CommandModule[] {
  const { io } = ctx;
  const announce = (text: string, fields: Record<string, unknown> = {}) =>
    io.err(lifecycleLine(text, fields));
  const serve: CommandModule = {
    command: 'serve',
    describe: 'Run the API, the queue and workers in this process',
    builder: (y) =>
      withData(y)
        .option('host', {
          type: 'string',
          describe: 'Address to bind (default 127.0.0.1; others need a token)',
        })
        .option('port', { type: 'number', describe: 'Port (default 7070; 0 picks a free one)' })
        .option('workers', { type: 'number', describe: 'Concurrent job slots (default 2)' })
        .option('queues', queuesOption)
        .option('advertise-url', advertiseUrlOption)
        .option('log-level', logLevelOption),
    handler: async (raw) => {
      const args = raw as unknown as ServeFlags;
      const config = ctx.config(args, {
        ...(args.host !== undefined ? { host: args.host } : {}),
        ...(args.port !== undefined ? { port: args.port } : {}),
        ...(args.workers !== undefined ? { workers: args.workers } : {}),
        ...queuesOverride(args),
        ...advertiseOverride(args),
      });
      const rb = await ctx.startRunbox(config, {
        api: true,
        workers: slotsOf(config),
        logLevel: args.logLevel,
      });
      // Handlers first: a supervisor (or a test) may signal the moment it reads this line.
      const signalled = untilSignalled(rb, announce);
      announce(`runbox: listening on ${rb.url} (${servingText(config)})`, {
        event: 'listening',
        url: rb.url,
      });
      await untilStoppedOrRefused(rb, signalled);
      setCode(0);
    },
  };
  const worker: CommandModule = {
    command: 'worker',
    describe: 'Run only a worker pool on a database (beside serve)',
    builder: (y) =>
      withData(y)
        .option('workers', { type: 'number', describe: 'Concurrent job slots (default 2)' })
        .option('queues', queuesOption)
        .option('advertise-url', advertiseUrlOption)
        .option('log-level', logLevelOption)
        .option('metrics-port', {
          type: 'number',
          describe:
            "Serve this process's Prometheus metrics on 127.0.0.1:PORT/metrics (0: any free port)",
        }),
    handler: async (raw) => {
      const args = raw as unknown as ServeFlags & { metricsPort?: number };
      const config = ctx.config(args, {
        ...(args.workers !== undefined ? { workers: args.workers } : {}),
        ...queuesOverride(args),
        ...advertiseOverride(args),
      });
      const rb = await ctx.startRunbox(config, {
        api: false,
        workers: slotsOf(config),
        logLevel: args.logLevel,
      });
      const scrape =
        args.metricsPort === undefined
          ? null
          : await serveMetrics(rb.services.metrics, args.metricsPort).catch(async (error) => {
              // A port in use: stop the pool cleanly rather than leave it registered.
              await rb.stop();
              throw error;
            });
      if (scrape)
        announce(`runbox: worker metrics on ${scrape.url}`, {
          event: 'metrics',
          url: scrape.url,
        });
      const signalled = untilSignalled(rb, announce);
      announce(`runbox: worker pool running (${servingText(config)})`, { event: 'running' });
      await untilStoppedOrRefused(rb, signalled);
      await scrape?.close();
      setCode(0);
    },
  };
  const run: CommandModule = {
    command: 'run [script]',
    describe: 'Run one job here and now; exit with its code',
    builder: (y) =>
      withJson(withData(withJobFlags(y))).option('output-dir', {
        alias: 'o',
        type: 'string',
        describe: 'Write the job outputs here',
      }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & JobFlagValues & { outputDir?: string };
      const request = buildSubmitRequest(args);
      if (args.outputDir !== undefined) checkOutputDir(args.outputDir);
      // The user of `runbox run` is the operator of that run: its flags raise the ceilings
      // for it, and asking for GPUs allows them.
      const config = ctx.config(args, {
        ...raisedForRun(request, ctx.config(args)),
        ...(args.gpus !== undefined ? { gpus: { allow: true } } : {}),
      });
      // A stop signal before the job exists (opening the database, asking the engine)
      // killed runbox at once, printing nothing, not even --json's document: it is held
      // until there is a job to cancel, or ends the run Cancelled (130) before one. A
      // second one does not wait.
      const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
      let early: NodeJS.Signals | null = null;
      const onEarly = (signal: NodeJS.Signals) => {
        if (early !== null) process.exit(130);
        early = signal;
      };
      for (const signal of stopSignals) process.on(signal, onEarly);
      const stopHolding = () => {
        for (const signal of stopSignals) process.off(signal, onEarly);
      };
      let pulling: Progress | null = null;
      const rb = await ctx
        .startRunbox(config, {
          api: false,
          workers: 0,
          logLevel: 'warn',
          requireEngine: true,
          onPullProgress: (p) => {
            if (p.done) {
              pulling?.stop();
              pulling = null;
              return;
            }
            pulling ??= spinner(io, `pulling ${p.image}`);
            pulling.update(`pulling ${p.image}: ${bytesText(p.currentBytes, p.totalBytes)}`);
          },
        })
        .catch((error: unknown) => {
          stopHolding();
          throw error;
        });
      try {
        if (early !== null) {
          throw new RunboxError('Cancelled', `stopped by ${early} before the job was submitted`);
        }
        // The pool registers first and the job is reserved for it: a server or worker on
        // the same database never takes it (it would run where nobody sees its output).
        const owner = await rb.startWorkers(1, true);
        const { job } = await rb.services.jobs.submit(request, { reservedFor: owner });
        // A reader that went away (`runbox run job.sh | head -1`) is to runbox what SIGPIPE
        // is to a plain program: the job is stopped as Ctrl-C stops it. Unhandled, the
        // EPIPE crashed runbox with a stack trace and left the container running.
        let readerGone = false;
        const onReaderGone = () => {
          if (readerGone) return;
          readerGone = true;
          onSignal();
        };
        io.stdout.on('error', onReaderGone);
        io.stderr.on('error', onReaderGone);
        // With --json, stdout carries the one JSON document: the job's output goes to stderr.
        // A slow reader (`runbox run job.sh | (sleep 60; cat)`) paces the job, as a pipe
        // paces a plain program: writes were queued without bound, the whole output in
        // memory. A reader that goes away closes the stream, which ends the wait.
        // Where each later attempt begins is said on stderr, as `logs -f` says it: stdout
        // stays the job's bytes.
        let shownAttempt = 0;
        const untap = rb.services.liveLogs.tap(job.id, (stream, chunk, attempt) => {
          if (readerGone) return;
          if (attempt !== shownAttempt) {
            if (shownAttempt !== 0) {
              io.err(attemptBeginsLine(job.id, attempt));
            }
            shownAttempt = attempt;
          }
          const to = stream === 'stdout' && !args.json ? io.stdout : io.stderr;
          if (!to.write(chunk)) return drained(to);
        });
        // Every stop signal is caught until the job is final: a closed terminal (SIGHUP)
        // or an impatient second Ctrl-C that ended the process left the container running
        // with no one to remove it. The first cancels; the cancel's SIGKILL after the grace
        // period bounds the wait.
        let signalled = false;
        const onSignal = () => {
          if (signalled) {
            io.err(`runbox: stopping job ${job.id}; waiting until its container is gone`);
            return;
          }
          signalled = true;
          // A job that ended meanwhile has nothing to cancel (Conflict): unhandled, that
          // crashed `run --json > /dev/full` with a stack trace once the job had ended.
          rb.services.jobs.cancel(job.id).catch((error: unknown) => {
            if (!(error instanceof RunboxError && error.type === 'Conflict')) throw error;
          });
        };
        for (const signal of stopSignals) process.on(signal, onSignal);
        stopHolding();
        // Held while the job was being submitted: it is the job's cancel now.
        if (early !== null) onSignal();
        const final = await rb.services.jobs.waitFinal(job.id);
        untap();
        for (const signal of stopSignals) process.off(signal, onSignal);
        // The job is final: a reader gone now stops nothing (io reports the failed write).
        io.stdout.off('error', onReaderGone);
        io.stderr.off('error', onReaderGone);
        if (args.outputDir && final.result) {
          const refused = await writeOutputs(
            rb.services.store,
            final.result.outputs,
            args.outputDir,
          );
          for (const { reason } of refused) io.err(`runbox: warning: ${reason}`);
        }
        if (args.json) io.out(JSON.stringify(final, null, 2));
        else if (final.error)
          io.err(
            `runbox: job ${final.id} ${final.status}: ${final.error.type}: ${shownText(final.error.message)}`,
          );
        setCode(exitCodeOf(final));
      } finally {
        stopHolding();
        await rb.stop();
      }
    },
  };
  return [serve, worker, run];
}
