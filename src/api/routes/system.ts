import { CURRENT_CONTRACT } from '../../contract/contract.js';
import type { RuntimeView } from '../../executor/runtimeImages.js';
import type { RunboxMetrics } from '../../metrics.js';
import { RUNBOX_VERSION } from '../../version.js';
import {
  ActivitySchema,
  Body,
  ContractSchema,
  HealthSchema,
  QueueListSchema,
  RuntimeListSchema,
  WorkerListSchema,
  described,
  type ActivityView,
  type QueueView,
  type WorkerView,
} from '../schemas.js';
import type { Api } from '../typeProvider.js';

/** What the system routes read; main wires it from the queue, the pool and the engine monitor. */
export interface SystemInfo {
  /** Docker engine state from the last background ping; null before the first. */
  engineUp(): boolean | null;
  /** Whether the queue database answered the reaper's last pass; null before the first. */
  queueUp(): boolean | null;
  /** Below limits.minFreeBytes on the data dir's disk (submissions get 507); null if unmeasured. */
  diskLow(): Promise<boolean | null>;
  /** Runtime images the engine lacks (jobs on them pull first); null before the first check. */
  imagesMissing(): string[] | null;
  workers(): Promise<WorkerView[]>;
  /** Named queues: depth, running, oldest due, live workers serving each. */
  queues(): Promise<QueueView[]>;
  /** The last hour by minute: submitted, dequeued, finished by outcome, queue depth. */
  activity(): Promise<ActivityView>;
  /** This process's metrics registry, with the database-wide gauges added. */
  metrics: RunboxMetrics;
  /** The configured runtimes and whether each image is on the engine. */
  runtimes(): Promise<RuntimeView[]>;
  /** Told to stop and draining (new submits get 503). @defaultValue never */
  draining?(): boolean;
}

export function registerSystemRoutes(app: Api, info: SystemInfo): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        summary:
          'Liveness, the Docker engine and the queue database; 503 when either is down or it drains to stop',
        description: 'Open without the token, for load balancer probes.',
        tags: ['system'],
        security: false,
        response: {
          200: described(HealthSchema, 'Up'),
          503: described(
            HealthSchema,
            'Up, but the Docker engine or the queue database is unavailable, or it drains to stop',
          ),
        },
      },
    },
    async (_req, reply) => {
      const engine = info.engineUp();
      const database = info.queueUp();
      const diskLow = await info.diskLow();
      const degraded = engine === false || database === false;
      // A load balancer sends submits elsewhere while this node drains: here they get 503.
      const draining = info.draining?.() ?? false;
      return reply.status(degraded || draining ? 503 : 200).send({
        status: draining ? 'draining' : degraded ? 'degraded' : 'ok',
        engine: engine === null ? 'unknown' : engine ? 'ok' : 'unavailable',
        database: database === null ? 'unknown' : database ? 'ok' : 'unavailable',
        disk: diskLow === null ? 'unknown' : diskLow ? 'low' : 'ok',
        version: RUNBOX_VERSION,
        images_missing: info.imagesMissing(),
      });
    },
  );

  app.get(
    '/v1/contract',
    {
      schema: {
        operationId: 'getContract',
        readsNoStore: true,
        summary: "This server's result contract (name, version, fingerprint, schema)",
        tags: ['system'],
        response: { 200: described(ContractSchema, 'The contract') },
      },
    },
    async () => CURRENT_CONTRACT,
  );

  app.get(
    '/v1/workers',
    {
      schema: {
        operationId: 'listWorkers',
        summary: 'Registered workers, alive or dead',
        tags: ['system'],
        response: { 200: described(WorkerListSchema, 'Every registered worker pool') },
      },
    },
    async () => ({ workers: await info.workers() }),
  );

  app.get(
    '/v1/queues',
    {
      schema: {
        operationId: 'listQueues',
        summary: 'Named queues: depth, running, oldest waiting, live workers serving each',
        description:
          'Every queue with jobs queued or running, or a live worker serving it. Jobs ' +
          'reserved for one `runbox run` process are not counted.',
        tags: ['system'],
        response: { 200: described(QueueListSchema, 'Every queue, by name') },
      },
    },
    async () => ({ queues: await info.queues() }),
  );

  app.get(
    '/v1/activity',
    {
      schema: {
        operationId: 'getActivity',
        summary: 'The last hour by minute: jobs submitted, dequeued and finished, queue depth',
        description: "The dashboard's chart. Reads only the last hour's rows.",
        tags: ['system'],
        response: { 200: described(ActivitySchema, 'Sixty one-minute buckets, oldest first') },
      },
    },
    async () => info.activity(),
  );

  app.get(
    '/v1/runtimes',
    {
      schema: {
        operationId: 'listRuntimes',
        readsNoStore: true,
        summary: 'Configured runtimes, their images, and whether each image is on the engine',
        tags: ['system'],
        response: { 200: described(RuntimeListSchema, 'Every configured runtime') },
      },
    },
    async () => ({ runtimes: await info.runtimes() }),
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics of this process (text exposition format 0.0.4)',
        tags: ['system'],
        response: {
          200: Body('text/plain; version=0.0.4; charset=utf-8', 'Prometheus text format'),
        },
      },
    },
    async (_req, reply) => reply.type(info.metrics.contentType).send(await info.metrics.text()),
  );
}
