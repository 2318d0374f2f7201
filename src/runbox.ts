import { accessSync, constants, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import {
  createBlobLedger,
  createBlobStore,
  createHookStores,
  checkBlobDir,
  createQueue,
  queueConfigOf,
  queueLocation,
} from './backends.js';
import { createDocker } from './executor/dockerClient.js';
import { listRuntimes } from './executor/runtimeImages.js';
import { activityView } from './api/activityView.js';
import { JobService, toView } from './api/jobService.js';
import { isLoopback, type Config } from './config.js';
import { RunboxError } from './errors/index.js';
import { toQueueView } from './api/queueView.js';
import { toWorkerView } from './api/workerView.js';
import { EngineMonitor } from './executor/EngineMonitor.js';
import { RuntimeImages } from './executor/RuntimeImageWatch.js';
import { createDockerExecutor } from './executor/index.js';
import { runningLogsOf } from './executor/runningLogs.js';
import { createLogger } from './log.js';
import { RunboxMetrics } from './metrics.js';
import { QueueHealth } from './queue/queueUnavailable.js';
import { Scheduler } from './schedules/Scheduler.js';
import { ScheduleService } from './schedules/ScheduleService.js';
import type { RunningRunbox, StartOptions } from './runboxTypes.js';
import { freeBytes } from './storage/fs/diskSpace.js';
import { securePrivateDataDir } from './storage/fs/privateFiles.js';
import { LiveLogs } from './worker/LiveLogs.js';
import { startReaper } from './maintenance/reaper.js';
import { startRetentionSweeps } from './maintenance/retentionSweep.js';
import { advertisedUrl } from './nodes/advertise.js';
import { RemoteLogs } from './nodes/remoteLogs.js';
import { WorkerPool } from './worker/WorkerPool.js';
import { DeliveryLoop } from './webhooks/DeliveryLoop.js';
import { checkWebhookUrl } from './webhooks/urlPolicy.js';
import { listenError } from './metricsServer.js';

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
 * The data dir, made private and proven writable before anything opens in it. A
 * read-only mount or another user's folder was an Internal error (exit 70) quoting
 * EROFS from a chmod, or "unable to open database file", naming neither the setting nor
 * the fix.
 */
function prepareDataDir(dataDir: string): void {
  try {
    securePrivateDataDir(dataDir);
    accessSync(dataDir, constants.W_OK);
    if (!statSync(dataDir).isDirectory()) {
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOENT: Node's recursive mkdir reports a read-only parent as ENOENT.
    if (!code || !['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'ENOENT'].includes(code)) {
      throw error;
    }
    throw new RunboxError(
      'InvalidConfig',
      `dataDir: cannot write to ${dataDir} (${(error as Error).message}); point --data-dir, ` +
        'RUNBOX_DATA_DIR or dataDir in the config file at a folder this user can write',
      { field: 'dataDir', cause: error },
    );
  }
}

/**
 * The composition root: opens the queue and the store, builds the executor, the
 * worker pool and the API, and hands back one handle to stop them in order.
 */
/**
 * webhooks.url is written into every job that names no webhook, so it must pass the
 * policy a client's webhook_url passes at submit (allowHosts, private, metadata
 * addresses). Unchecked, the server started and every such delivery failed at its first
 * try, job after job, with the reason only in each delivery's last_error.
 */
function checkDefaultWebhook(config: Readonly<Config>): void {
  if (config.webhooks.url === null) return;
  try {
    checkWebhookUrl(config.webhooks.url, config.webhooks, 'webhooks.url');
  } catch (error) {
    throw new RunboxError('InvalidConfig', (error as Error).message, { field: 'webhooks.url' });
  }
}

export async function startRunbox(
  config: Readonly<Config>,
  options: StartOptions,
): Promise<RunningRunbox> {
  if (options.api) checkBind(config);
  checkDefaultWebhook(config);
  prepareDataDir(config.dataDir);
  const logger = createLogger(options.logLevel ?? 'info');
  await checkBlobDir(config);
  const queue = await createQueue(config, { log: logger });
  const cleanups: Array<() => void | Promise<void>> = [() => queue.close()];
  try {
    const hooks = await createHookStores(queue);
    if (!hooks && config.webhooks.url !== null) {
      // Every job would carry this URL and none would ever be delivered: refuse to start
      // rather than accept work whose webhook is silently dropped.
      throw new RunboxError(
        'InvalidConfig',
        `webhooks.url: the ${queueConfigOf(config).kind} queue backend has no webhook ` +
          'deliveries yet; unset webhooks.url in the config file or use the SQLite queue',
        { field: 'webhooks.url' },
      );
    }
    const docker = createDocker(config.dockerSocket);
    // The engine is asked at once and answers while the store and the rest are set up
    // (a round trip of ~90 ms under load here, that `runbox run` otherwise waited for).
    const engineAnswers = options.requireEngine
      ? assertEngineAnswers(docker, config.dockerSocket)
      : null;
    // Awaited below; until then a failure must not count as unhandled.
    engineAnswers?.catch(() => undefined);
    const ledger = config.blobs?.kind === 's3' ? await createBlobLedger(queue) : null;
    const store = await createBlobStore(config, {
      ...(ledger ? { ledger } : {}),
      owner: { id: queue.databaseId, location: queueLocation(config) },
    });
    cleanups.unshift(() => store.close());
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
    metrics.addEngineUp(() => monitor.isUp());
    const jobs = new JobService(config, queue, { log: logger, metrics }, hooks !== null);
    const pools: WorkerPool[] = [];
    const queueHealth = new QueueHealth(logger);
    // The loops that poll the queue log a database outage once, not every turn.
    const loopLogger = queueHealth.quiet(logger);
    const events = crossNodeEvents(queue);
    let refuse: (error: RunboxError) => void = () => {};
    const refused = new Promise<RunboxError>((resolve) => (refuse = resolve));
    events.onRefused?.((error) => {
      logger.error('the queue was raised to a contract this build cannot read: not claiming', {
        error,
      });
      refuse(error);
    });

    await engineAnswers;
    // Set once the API listens (its port may be picked then); a worker-only process
    // advertises only an explicit advertiseUrl (a serve on its host sharing its data dir).
    let advertised: string | null =
      config.advertiseUrl === null ? null : advertisedUrl(config, config.port);

    const startWorkers = async (slots: number, reserved = false) => {
      const pool = new WorkerPool({
        config: { ...config, workers: slots },
        queue,
        executor,
        liveLogs,
        logger: loopLogger,
        metrics,
        engine: monitor,
        queueHealth,
        ...(options.contract ? { contract: options.contract } : {}),
        reserved,
        // runbox run's own pool is followed only by itself.
        address: reserved ? null : advertised,
      });
      await pool.start();
      pools.push(pool);
      if (!reserved) metrics.workerStarted(pool.id);
      monitor.onChange((up) => {
        if (up) pool.engineBack();
      });
      jobs.onSubmitted(() => pool.notify());
      jobs.onCancel((id) => pool.cancelLocal(id));
      // Another node's submit or cancel (PostgreSQL's NOTIFY): claim now, kill now,
      // instead of at the next poll or heartbeat.
      const unsubscribe = [
        queue.onQueued?.(() => pool.notify()),
        events.onCancel?.((id) => pool.cancelLocal(id)),
      ];
      cleanups.unshift(() => unsubscribe.forEach((off) => off?.()));
      return pool.id;
    };

    cleanups.unshift(
      startRetentionSweeps({
        queue,
        store,
        config,
        logger: loopLogger,
        everyMs: config.sweepIntervalMs,
      }),
    );
    // Every API node reaps (README, "More than one machine"): a serve with no pool of its own is
    // often the last node left when a worker crashes.
    if (options.api) {
      cleanups.unshift(
        startReaper({
          queue,
          log: loopLogger,
          metrics,
          containers: executor,
          everyMs: Math.min(config.lease.heartbeatMs, 1000),
          health: queueHealth,
          // From the start when a pool is to come: its startup recovery adopts the
          // containers of a killed predecessor, whose leases may have run out while it was
          // down. A pass before the pool was up requeued those jobs first, and recovery
          // then removed their containers: finished work ran again.
          standAside: () => options.workers > 0 || pools.length > 0,
        }),
      );
    }

    // Webhook deliveries and schedules are served by `runbox serve` (any number of them
    // on one database: both claim their work with conditional updates). `runbox run`
    // leaves them to a server, whose loops find them in the database.
    const prepare = (body: unknown, prefix: string) => jobs.prepare(body, prefix);
    const schedules = hooks ? new ScheduleService(hooks.schedules, prepare) : null;
    if (options.api && hooks) {
      const deliveries = new DeliveryLoop({
        config,
        store: hooks.webhooks,
        jobView: async (id) => {
          const record = await queue.get(id);
          return record ? toView(record) : null;
        },
        logger: loopLogger,
      });
      deliveries.start();
      cleanups.unshift(() => deliveries.stop());
      const scheduler = new Scheduler({
        config,
        store: hooks.schedules,
        prepare,
        wake: () => {
          for (const pool of pools) pool.notify();
        },
        metrics,
        logger: loopLogger,
      });
      scheduler.start();
      cleanups.unshift(() => scheduler.stop());
    }

    let url: string | null = null;
    const workers = async () => (await queue.listWorkers()).map(toWorkerView);
    if (options.api) {
      metrics.addScrapeSources({
        countByStatus: () => queue.counts(),
        queues: () => queue.queues(),
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
          ...(queue.capabilities.multiHost
            ? {
                remoteLogs: new RemoteLogs({
                  workers: () => queue.listWorkers(),
                  self: () => advertised,
                  token: config.token,
                  host: hostname(),
                  dataDir: config.dataDir,
                }),
              }
            : {}),
          logger,
          ...(hooks ? { webhooks: hooks.webhooks } : {}),
          ...(schedules ? { schedules } : { hooksMissingOn: queueConfigOf(config).kind }),
          system: {
            engineUp: () => monitor.isUp(),
            queueUp: () => queueHealth.isUp(),
            draining: () => jobs.draining,
            imagesMissing: () => images.missing(),
            // The measure submissions are refused by (jobService's assertFreeSpace).
            diskLow: () =>
              freeBytes(config.dataDir).then(
                (free) => free < config.limits.minFreeBytes,
                () => null,
              ),
            workers,
            queues: async () => (await queue.queues()).map(toQueueView),
            activity: async () => activityView(await queue.activity()),
            metrics,
            runtimes: () => listRuntimes(config, docker),
          },
        })
      : null;
    if (app) {
      await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
        throw listenError(error, 'port', config.host, config.port);
      });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      advertised = advertisedUrl(config, port);
    }
    let apiClosing: Promise<void> | null = null;
    // No new connections from here on, and a request on a kept-alive one gets 503; those
    // in flight go on (cutApi bounds them).
    const closeApi = () => {
      apiClosing ??= app ? app.close() : Promise.resolve();
      return apiClosing;
    };
    // Requests still in flight after graceMs are cut: a follower of a job the drain put
    // back in the queue, a wait=true for one, would otherwise hold the exit for as long
    // as they liked.
    const cutApi = async (graceMs: number) => {
      if (!app) return;
      const closed = closeApi();
      app.server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      app.server.closeAllConnections();
      await closed;
    };
    // After the API listens, so the workers register the address it answers at.
    if (options.workers > 0) {
      try {
        await startWorkers(options.workers);
      } catch (error) {
        await cutApi(0);
        throw error;
      }
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
      refused,
      startWorkers,
      async stop(drainMs?: number) {
        // The API answers through the drain and closes after it: cutting every
        // connection at the signal ended each `logs -f` there while its job ran on and
        // finished, and a closed listener refused `submit --follow` the final state of
        // the job it had just followed. Only new jobs are refused (503). The jobs that
        // finish in the drain give their followers and waiters the end; then what is
        // left gets API_GRACE_MS.
        jobs.stopTaking();
        await Promise.all(pools.map((p) => p.stop(drainMs)));
        // The last job of the drain finishes just now: a client that followed it asks
        // for its final state next, which a closed listener refused (exit 69).
        if (app) await lingerWhileConnected(app.server, API_GRACE_MS);
        jobs.releaseWaiters();
        await cutApi(API_GRACE_MS);
        await closeAll();
      },
      async abort() {
        await cutApi(0);
        await closeAll();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }
}

/** Events a multi-node backend adds to the seam (PostgresQueue has them; SQLite not). */
interface CrossNodeEvents {
  onCancel?(listener: (id: string) => void): () => void;
  onRefused?(listener: (error: RunboxError) => void): () => void;
}

function crossNodeEvents(queue: object): CrossNodeEvents {
  return queue as CrossNodeEvents;
}

/**
 * How long clients get once the pools have drained, first to ask (the final state of a
 * job they followed), then for requests still in flight to end: a follower of a job
 * that finished in the drain reads its stored tail (polled every 100 ms).
 */
const API_GRACE_MS = 1000;

/** Resolves once `server` has no connection open, or after `ms`. */
async function lingerWhileConnected(server: Server, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise<number>((resolve) =>
      server.getConnections((error, count) => resolve(error ? 0 : count)),
    );
    if (open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
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
