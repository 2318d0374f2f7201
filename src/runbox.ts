import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { createDocker } from './executor/dockerClient.js';
import { listRuntimes } from './executor/runtimeImages.js';
import { JobService } from './api/jobService.js';
import type { WorkerView } from './api/schemas.js';
import { isLoopback, type Config } from './config.js';
import { RunboxError } from './errors/index.js';
import { EngineMonitor } from './executor/EngineMonitor.js';
import { RuntimeImages } from './executor/RuntimeImageWatch.js';
import { createDockerExecutor } from './executor/index.js';
import { runningLogsOf } from './executor/runningLogs.js';
import { createLogger } from './log.js';
import { RunboxMetrics } from './metrics.js';
import { Queue } from './queue/Queue.js';
import type { RunningRunbox, StartOptions } from './runboxTypes.js';
import { createBlobStore } from './storage/index.js';
import { securePrivateDataDir } from './storage/privateFiles.js';
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
  securePrivateDataDir(config.dataDir);
  const logger = createLogger(options.logLevel ?? 'info');
  const queue = Queue.open(config);
  const cleanups: Array<() => void | Promise<void>> = [() => queue.close()];
  try {
    const docker = createDocker(config.dockerSocket);
    // The engine is asked at once and answers while the store and the rest are set up
    // (a round trip of ~90 ms under load here, that `runbox run` otherwise waited for).
    const engineAnswers = options.requireEngine
      ? assertEngineAnswers(docker, config.dockerSocket)
      : null;
    // Awaited below; until then a failure must not count as unhandled.
    engineAnswers?.catch(() => undefined);
    const store = await createBlobStore(config);
    const executor = createDockerExecutor({
      config,
      store,
      docker,
      identity: { instance: config.instance ?? queue.databaseId, database: queue.databaseId },
      ...(options.onPullProgress ? { onPullProgress: options.onPullProgress } : {}),
    });
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
    const metrics = new RunboxMetrics({
      process: options.api ? 'serve' : options.workers > 0 ? 'worker' : 'run',
      workerId: `${hostname()}-${process.pid}`,
    });
    const jobs = new JobService(config, queue, { log: logger, metrics });
    const pools: WorkerPool[] = [];

    await engineAnswers;

    const startWorkers = async (slots: number, reserved = false) => {
      const pool = new WorkerPool({
        config: { ...config, workers: slots },
        queue,
        executor,
        liveLogs,
        logger,
        metrics,
        engine: monitor,
        ...(options.contract ? { contract: options.contract } : {}),
        reserved,
      });
      await pool.start();
      pools.push(pool);
      monitor.onChange((up) => {
        if (up) pool.engineBack();
      });
      jobs.onSubmitted(() => pool.notify());
      jobs.onCancel((id) => pool.cancelLocal(id));
      return pool.id;
    };
    if (options.workers > 0) await startWorkers(options.workers);

    const sweep = setInterval(() => {
      void retentionSweep({ queue, store, config, logger });
    }, config.sweepIntervalMs);
    sweep.unref();
    cleanups.unshift(() => clearInterval(sweep));

    let url: string | null = null;
    const workers = () => queue.listWorkers().map(toWorkerView);
    if (options.api) {
      metrics.addScrapeSources({
        countByStatus: () => queue.counts(),
        engineUp: () => monitor.isUp(),
        workers,
      });
    }
    // fastify and its schema compilers load only for the API: `runbox run` and
    // `runbox worker` never serve HTTP.
    const app = options.api
      ? await (
          await import('./api/server.js')
        ).buildServer({
          config,
          jobs,
          runningLogs: runningLogsOf(config.dataDir),
          store,
          logger,
          system: {
            engineUp: () => monitor.isUp(),
            imagesMissing: () => images.missing(),
            workers,
            metrics,
            runtimes: () => listRuntimes(config, docker),
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
      services: { jobs, store, liveLogs, metrics },
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

/** How long runbox run waits for the engine's first answer before giving up. */
const ENGINE_ANSWER_MS = 3000;

async function assertEngineAnswers(docker: Docker, socket: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${ENGINE_ANSWER_MS / 1000} s`)),
          ENGINE_ANSWER_MS,
        );
      }),
    ]);
  } catch (error) {
    throw new RunboxError(
      'EngineUnavailable',
      `the Docker engine at ${socket} is unreachable (${(error as Error).message}): start dockerd, ` +
        'or point RUNBOX_DOCKER_SOCKET (dockerSocket in the config file) at its socket',
      { field: 'dockerSocket', cause: error },
    );
  } finally {
    clearTimeout(timer);
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
