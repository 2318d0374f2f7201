import { capConnections, connectionCap } from './connectionCap.js';
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Config } from '../config.js';
import { RunboxError } from '../errors/index.js';
import type { RunningLogs } from '../executor/runningLogs.js';
import { silentLogger, type Logger } from '../log.js';
import type { ScheduleService } from '../schedules/ScheduleService.js';
import type { BlobStore } from '../storage/BlobStore.js';
import type { WebhookStore } from '../webhooks/WebhookStore.js';
import { registerAuth } from './auth.js';
import { Sessions } from './session.js';
import { clientErrorHandler } from './clientError.js';
import { errorBody, registerErrorHandler } from './errorHandler.js';
import { registerHostCheck } from './hostCheck.js';
import { registerJobIdParam } from './jobIdParam.js';
import { registerJsonBodyParser } from './jsonBody.js';
import type { JobService } from './jobService.js';
import { registerOpenApi } from './openapi.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerDocsRoutes } from './routes/docs.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerLiveLogRoute, registerLogRoutes } from './routes/logs.js';
import type { RemoteLogs } from '../nodes/remoteLogs.js';
import { registerOutputRoutes } from './routes/outputs.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerSchedulesAbsent } from './routes/schedulesAbsent.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerSystemRoutes, type SystemInfo } from './routes/system.js';
import { typed } from './typeProvider.js';
import { registerValidation } from './validation.js';
import { shownValue } from '../shownValue.js';

export interface ApiDeps {
  config: Readonly<Config>;
  jobs: JobService;
  /** Live output of running jobs, whichever process on this host runs them. */
  runningLogs: RunningLogs;
  store: BlobStore;
  system: SystemInfo;
  /** Request lines and errors. @defaultValue silentLogger */
  logger?: Logger;
  /** Webhook delivery history (GET /v1/jobs/:id/webhooks). @defaultValue none: no route */
  webhooks?: WebhookStore;
  /** /v1/schedules. @defaultValue none: no routes */
  schedules?: ScheduleService;
  /**
   * Set (to the backend's kind) when the queue has no hook stores: /v1/schedules then
   * answers a typed NotFound naming the backend. @defaultValue none: no routes
   */
  hooksMissingOn?: string;
  /**
   * Follows the logs of jobs running on other nodes through their APIs (a queue shared
   * across hosts). @defaultValue none: every job's live log is on this host
   */
  remoteLogs?: RemoteLogs;
}

/** An incoming x-request-id is kept when it is this plain; anything else gets a fresh id. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes and scrapes: logged at debug, so a load balancer does not fill the log. */
const QUIET_ROUTES = new Set(['/healthz', '/metrics']);

/**
 * The request's URL for the log, with the values of query parameters that may carry a
 * credential replaced: a client that puts its token in the URL (`?token=`) must not
 * leave it in the server's log.
 */
export function loggedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of new Set(params.keys())) {
    if (/token|secret|password|auth|key/i.test(key)) params.set(key, '[redacted]');
  }
  return `${url.slice(0, q)}?${params.toString()}`;
}

/**
 * What the router says of a request it refused before any route. Its own words for a
 * path that does not decode quoted the whole path, 16 kB of it if sent.
 */
function frameworkText(error: Error & { code?: string }, url: string): string {
  if (error.code !== 'FST_ERR_BAD_URL') return error.message;
  const path = url.split('?')[0] ?? '';
  return `${shownValue(path)} does not decode: a % must begin an escape of UTF-8 bytes (%XX)`;
}

/** The HTTP API as a fastify instance, not yet listening (tests use app.inject). */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const log = deps.logger ?? silentLogger;
  /** Every answer's request line and its runbox_http_request_duration_seconds sample. */
  const answered = (request: FastifyRequest, reply: FastifyReply): void => {
    const route = request.routeOptions.url ?? '(no route)';
    deps.system.metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const level = QUIET_ROUTES.has(route) ? 'debug' : 'info';
    if (!log.pino.isLevelEnabled(level)) return;
    request.log[level](
      {
        method: request.method,
        route,
        url: loggedUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  };
  const app = Fastify({
    loggerInstance: log.pino as FastifyBaseLogger,
    // One line per answer, written below with the route and the status.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: deps.config.limits.bodyBytes,
    // The router's own cap (100) answered a longer id or schedule name with its message
    // quoting the whole URL, field `url`; past it each route's check names its field.
    // Node's header limit (16 KiB) bounds the request line anyway.
    routerOptions: { maxParamLength: 16_384 },
    // Fastify turns Node's 300 s limit off (0): a client trickling a body a byte at a
    // time, the open login's included, held its connection for as long as it liked.
    requestTimeout: deps.config.limits.requestMs,
    return503OnClosing: true,
    // No method or route was read; a 408 took the whole request time, the rest none.
    clientErrorHandler: clientErrorHandler(log, (status) =>
      deps.system.metrics.httpDuration.observe(
        { method: '(unparsed)', route: '(no route)', status: String(status) },
        status === 408 ? deps.config.limits.requestMs / 1000 : 0,
      ),
    ),
    // Closing cuts only idle connections: a log follower, a wait=true or a download in
    // flight goes on while the worker pools drain (runbox.ts cuts what is left after).
    forceCloseConnections: 'idle',
    // A URL that does not decode (/v1/jobs/%E0%A4%A) is refused by the router before
    // any handler runs; answer it with the documented error body too.
    // Fastify answers these past every hook (onRequest, onResponse): what the hooks add to
    // each answer is added here, or the request went unlogged and uncounted.
    frameworkErrors: (error, request, reply) => {
      void (reply as FastifyReply)
        .status(400)
        .header('x-request-id', request.id)
        .header('x-content-type-options', 'nosniff')
        .send(
          errorBody(
            request,
            new RunboxError('InvalidSpec', frameworkText(error, request.url), { field: 'url' }),
          ),
        );
      answered(request, reply as FastifyReply);
    },
  });
  // Node ignores a request timeout below the headers timeout (60 s) it was built with.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, deps.config.limits.requestMs);
  capConnections(app.server, connectionCap(deps.config.limits.connections), log);
  // Answers are what the handlers return, as JSON. The response schemas type the
  // handlers (typeProvider.ts) and document them; they do not filter or coerce fields,
  // which would hide a handler that drifted from its schema instead of failing a test.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Fastify parses text/plain bodies by default; the API takes JSON only, so any other
  // type is refused with 415 rather than validated as a string (400).
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app);
  app.addHook('onRequest', async (request, reply) => {
    // nosniff on every answer: a job's output or log is bytes a stranger chose, and a
    // browser sniffing them as HTML would run them on the dashboard's origin.
    void reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff');
  });
  app.addHook('onResponse', async (request, reply) => answered(request, reply));
  registerErrorHandler(app);
  registerValidation(app);
  registerOpenApi(app);
  registerJobIdParam(app);
  registerHostCheck(app, deps.config);
  const sessions = deps.config.token === null ? null : new Sessions(deps.config.token);
  registerAuth(app, deps.config.token, sessions);
  const api = typed(app);
  registerSystemRoutes(api, deps.system);
  registerDocsRoutes(api);
  registerDashboardRoutes(api, deps.config.token !== null);
  registerSessionRoutes(api, deps.config.token, sessions);
  registerJobRoutes(api, deps.jobs);
  registerLogRoutes(
    api,
    deps.jobs,
    deps.runningLogs,
    deps.store,
    deps.remoteLogs ? { remote: deps.remoteLogs, log } : null,
  );
  registerLiveLogRoute(api, deps.jobs, deps.runningLogs);
  registerOutputRoutes(api, deps.jobs, deps.store, deps.remoteLogs !== undefined);
  if (deps.webhooks) registerWebhookRoutes(api, deps.jobs, deps.webhooks);
  if (deps.schedules) registerScheduleRoutes(api, deps.schedules);
  else if (deps.hooksMissingOn) registerSchedulesAbsent(api, deps.hooksMissingOn);
  await app.ready();
  return app;
}
