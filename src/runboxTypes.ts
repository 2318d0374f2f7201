import type { FastifyInstance } from 'fastify';
import type { JobService } from './api/jobService.js';
import type { Config } from './config.js';
import type { RunboxError } from './errors/index.js';
import type { ContractDescriptor } from './contract/contract.js';
import type { OnPullProgress } from './executor/imagePolicy.js';
import type { LogLevel } from './log.js';
import type { RunboxMetrics } from './metrics.js';
import type { BlobStore } from './storage/BlobStore.js';
import type { LiveLogs } from './worker/LiveLogs.js';
import type { WorkerPool } from './worker/WorkerPool.js';

export interface StartOptions {
  /** Serve the HTTP API (runbox serve). */
  api: boolean;
  /** Worker slots started now; 0 to start none (see startWorkers). */
  workers: number;
  /**
   * Fail with EngineUnavailable (exit 69) within a few seconds when the Docker engine
   * does not answer, instead of waiting for it (runbox run: nothing can happen without
   * it). serve and worker stay up and wait. @defaultValue false
   */
  requireEngine?: boolean;
  /** Only tests set this, to act as a build with another contract. */
  contract?: ContractDescriptor;
  /** Server log lines at or above this level go to stderr. @defaultValue 'info' */
  logLevel?: LogLevel;
  /** Told how far each image pull has got (`runbox run` shows it). @defaultValue none */
  onPullProgress?: OnPullProgress;
}

export interface Services {
  jobs: JobService;
  /** This process's Prometheus registry (runbox worker serves it with --metrics-port). */
  metrics: RunboxMetrics;
  store: BlobStore;
  liveLogs: LiveLogs;
}

/** A running runbox: what serve, worker and run hold while they work. */
export interface RunningRunbox {
  config: Readonly<Config>;
  services: Services;
  /** The API's base URL when it listens. */
  url: string | null;
  app: FastifyInstance | null;
  pool: WorkerPool | null;
  /**
   * Starts a worker pool now and returns its worker id. `reserved`: the pool takes only
   * jobs submitted reserved for that id (runbox run).
   */
  startWorkers(slots: number, reserved?: boolean): Promise<string>;
  /**
   * Settles with the reason this process must stop, if it ever must while running: a
   * newer build raised the queue's contract stamp past what this one reads (PostgreSQL:
   * ContractMismatch, exit 78). It has already stopped claiming; serve and worker drain
   * and exit. Never settles otherwise.
   */
  refused: Promise<RunboxError>;
  /** Graceful stop: drain workers (up to drainMs), close the API and the database. */
  stop(drainMs?: number): Promise<void>;
  /**
   * Hard stop: no drain; running containers are left running, for the next start's
   * recovery to re-attach (or, if gone, to requeue their jobs).
   */
  abort(): Promise<void>;
}

export type StartRunbox = (
  config: Readonly<Config>,
  options: StartOptions,
) => Promise<RunningRunbox>;
