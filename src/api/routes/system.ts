import { CURRENT_CONTRACT } from '../../contract/contract.js';
import type { RuntimeView } from '../../executor/runtimeImages.js';
import type { RunboxMetrics } from '../../metrics.js';
import { RUNBOX_VERSION } from '../../version.js';
import {
  Body,
  ContractSchema,
  HealthSchema,
  RuntimeListSchema,
  WorkerListSchema,
  described,
  type WorkerView,
} from '../schemas.js';
import type { Api } from '../typeProvider.js';

/** What the system routes read; main wires it from the queue, the pool and the engine monitor. */
export interface SystemInfo {
  /** Docker engine state from the last background ping; null before the first. */
  engineUp(): boolean | null;
  /** Runtime images the engine lacks (jobs on them pull first); null before the first check. */
  imagesMissing(): string[] | null;
  workers(): Promise<WorkerView[]>;
  /** This process's metrics registry, with the database-wide gauges added. */
  metrics: RunboxMetrics;
  /** The configured runtimes and whether each image is on the engine. */
  runtimes(): Promise<RuntimeView[]>;
}

export function registerSystemRoutes(app: Api, info: SystemInfo): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness and the Docker engine state; 503 when the engine is down',
        description: 'Open without the token, for load balancer probes.',
        tags: ['system'],
        security: false,
        response: {
          200: described(HealthSchema, 'Up'),
          503: described(HealthSchema, 'Up, but the Docker engine is unavailable'),
        },
      },
    },
    async (_req, reply) => {
      const engine = info.engineUp();
      return reply.status(engine === false ? 503 : 200).send({
        status: engine === false ? 'degraded' : 'ok',
        engine: engine === null ? 'unknown' : engine ? 'ok' : 'unavailable',
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
    '/v1/runtimes',
    {
      schema: {
        operationId: 'listRuntimes',
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
