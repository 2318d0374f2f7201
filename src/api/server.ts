import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { RunningLogs } from '../executor/runningLogs.js';
import type { BlobStore } from '../storage/BlobStore.js';
import { registerAuth } from './auth.js';
import { registerErrorHandler } from './errorHandler.js';
import type { JobService } from './jobService.js';
import { registerOpenApi } from './openapi.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerOutputRoutes } from './routes/outputs.js';
import { registerSystemRoutes, type SystemInfo } from './routes/system.js';
import { registerValidation } from './validation.js';

export interface ApiDeps {
  config: Readonly<Config>;
  jobs: JobService;
  /** Live output of running jobs, whichever process on this host runs them. */
  runningLogs: RunningLogs;
  store: BlobStore;
  system: SystemInfo;
}

/** The HTTP API as a fastify instance, not yet listening (tests use app.inject). */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.config.limits.bodyBytes,
    // Deep or hostile JSON is refused with 400 rather than walked.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    forceCloseConnections: true,
    // A URL that does not decode (/v1/jobs/%E0%A4%A) is refused by the router before
    // any handler runs; answer it with the documented error body too.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).status(400).send({
        error: { type: 'InvalidSpec', message: error.message, field: 'url' },
      });
    },
  });
  // Fastify parses text/plain bodies by default; the API takes JSON only, so any other
  // type is refused with 415 rather than validated as a string (400).
  app.removeContentTypeParser('text/plain');
  registerErrorHandler(app);
  registerValidation(app);
  registerOpenApi(app);
  registerAuth(app, deps.config.token);
  registerSystemRoutes(app, deps.system);
  registerJobRoutes(app, deps.jobs);
  registerLogRoutes(app, deps.jobs, deps.runningLogs, deps.store);
  registerOutputRoutes(app, deps.jobs, deps.store);
  await app.ready();
  return app;
}
