import { mkdirSync } from 'node:fs';
import Docker from 'dockerode';
import { JobService } from './api/jobService.js';
import { buildServer } from './api/server.js';
import type { WorkerView } from './api/routes/system.js';
import { isLoopback, type Config } from './config.js';
import { RunboxError } from './errors/index.js';
import { EngineMonitor } from './executor/EngineMonitor.js';
import { RuntimeImages } from './executor/RuntimeImages.js';
import { createDockerExecutor } from './executor/index.js';
import { createLogger } from './log.js';
import { Queue } from './queue/Queue.js';
import type { RunningRunbox, StartOptions } from './runboxTypes.js';
import { createBlobStore } from './storage/index.js';
import { DurationStats } from './worker/DurationStats.js';
import { LiveLogs } from './worker/LiveLogs.js';
import { retentionSweep } from './worker/retentionSweep.js';
import { WorkerPool } from './worker/WorkerPool.js';

function checkBind(config: Readonly<Config>): void {
  if (!isLoopback(config.host) && !config.token) {
    throw new RunboxError(
      'InvalidConfig',
      `refusing to listen on ${config.host} without a token: anyone who can reach it could run code. ` +
        'Set RUNBOX_TOKEN (or "token" in the config file), or bind 127.0.0.1',
      { field: 'token' },
    );
  }
}

/**
 * The composition root: opens the queue and the store, builds the executor, the
 * worker pool and the API, and hands back one handle to stop them in order.
 */
export async function startRunbox(
  config: Readonly<Config>,
  options: StartOptions,
): Promise<RunningRunbox> {
  if (options.api) checkBind(config);
  mkdirSync(config.dataDir, { recursive: true });
  const logger = createLogger(options.logLevel ?? 'info');
  const queue = Queue.open(config);
  const cleanups: Array<() => void | Promise<void>> = [() => queue.close()];
  try {
    const store = await createBlobStore(config);
    const docker = new Docker({ socketPath: config.dockerSocket });
    const executor = createDockerExecutor({ config, store, docker });
    const monitor = new EngineMonitor(docker);
    monitor.start();
    cleanups.unshift(() => monitor.stop());
    const images = new RuntimeImages(docker, config, logger);
    if (options.api) {
      images.start();
      cleanups.unshift(() => images.stop());
      if (config.pull.atStart) void images.pullMissing();
    }
    const liveLogs = new LiveLogs();
    const jobs = new JobService(config, queue);
    const durations = new DurationStats();
    const pools: WorkerPool[] = [];

    const startWorkers = async (slots: number, onlyJob?: string) => {
      const pool = new WorkerPool({
        config: { ...config, workers: slots },
        queue,
        executor,
        liveLogs,
        logger,
        onRecorded: (result) => durations.add(result.metrics.total_seconds),
        engine: monitor,
        ...(options.contract ? { contract: options.contract } : {}),
        ...(onlyJob ? { onlyJob } : {}),
      });
      await pool.start();
      pools.push(pool);
      monitor.onChange((up) => {
        if (up) pool.engineBack();
      });
      jobs.onSubmitted(() => pool.notify());
      jobs.onCancel((id) => pool.cancelLocal(id));
    };
    if (options.workers > 0) await startWorkers(options.workers);

    const sweep = setInterval(() => {
      void retentionSweep({ queue, store, config, logger });
    }, config.sweepIntervalMs);
    sweep.unref();
    cleanups.unshift(() => clearInterval(sweep));

    let url: string | null = null;
    const app = options.api
      ? await buildServer({
          config,
          jobs,
          liveLogs,
          store,
          system: {
            engineUp: () => monitor.isUp(),
            imagesMissing: () => images.missing(),
            workers: () => queue.listWorkers().map(toWorkerView),
            countByStatus: () => queue.counts(),
            finishedByOutcome: () => queue.finishedByOutcome(),
            durations: () => durations.summary(),
          },
        })
      : null;
    if (app) {
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    }

    const closeAll = async () => {
      for (const cleanup of cleanups) await cleanup();
    };
    return {
      config,
      services: { jobs, store, liveLogs },
      url,
      app,
      get pool() {
        return pools[0] ?? null;
      },
      startWorkers,
      async stop(drainMs?: number) {
        if (app) await app.close();
        await Promise.all(pools.map((p) => p.stop(drainMs)));
        await closeAll();
      },
      async abort() {
        if (app) await app.close();
        await closeAll();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }
}

function toWorkerView(w: ReturnType<Queue['listWorkers']>[number]): WorkerView {
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    version: w.version,
    contract_version: w.contract.version,
    started_at: new Date(w.startedAt).toISOString(),
    last_heartbeat_at: new Date(w.lastHeartbeatAt).toISOString(),
    state: w.stoppedAt !== null ? 'stopped' : w.alive ? 'alive' : 'dead',
  };
}
