import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { HTTP_STATUS, RunboxError, toRunboxError } from '../errors/index.js';
import { unreadBodyDropped } from './clientError.js';
import type { ErrorBody } from './schemas.js';
import { shownValue } from '../shownValue.js';

/** The one error body (the Error component of the OpenAPI document). */
export function errorBody(request: Pick<FastifyRequest, 'id'>, error: RunboxError): ErrorBody {
  return {
    error: {
      type: error.type,
      message: error.message,
      field: error.field,
      request_id: String(request.id),
    },
  };
}

/** Fastify's own request errors (bad JSON, too large, unsupported type) as runbox errors. */
function fromFastify(error: FastifyError, request: FastifyRequest): RunboxError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      // The login reads far less than limits.bodyBytes; naming that setting there sent
      // an operator to raise a limit that was not the one refusing.
      const limit = request.routeOptions.bodyLimit;
      const serverWide = limit === request.server.initialConfig.bodyLimit;
      return new RunboxError(
        'PayloadTooLarge',
        serverWide
          ? `request body is larger than ${limit} bytes (limits.bodyBytes); send fewer or smaller files`
          : `request body is larger than the ${limit} bytes this route reads`,
        { field: '(body)' },
      );
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RunboxError('InvalidSpec', 'Content-Type must be application/json', {
        field: 'content-type',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RunboxError('InvalidSpec', 'body is empty; send a JSON object', {
        field: '(body)',
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RunboxError('InvalidSpec', `body is not valid JSON: ${error.message}`, {
        field: '(body)',
      });
    default:
      break;
  }
  // Anything else fastify flags as a client error (bad header, malformed URL, deep JSON).
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new RunboxError('InvalidSpec', error.message, { field: '(request)' });
  }
  return null;
}

/** One handler maps every error to its status and the documented body. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(async (thrown: unknown, request, reply) => {
    let error: RunboxError;
    let status: number;
    // Fastify's own errors first: its body-too-large error is a RangeError, to be
    // answered 413, not 500.
    const fromFramework =
      thrown instanceof RunboxError ? null : fromFastify(thrown as FastifyError, request);
    if (thrown instanceof RunboxError) {
      error = thrown;
      status = HTTP_STATUS[error.type];
    } else if (fromFramework) {
      error = fromFramework;
      status =
        (thrown as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 415
          : HTTP_STATUS[error.type];
    } else {
      // Bodies are parsed in jsonBody.ts, which types every refusal: a SyntaxError or
      // RangeError that reaches here is the server's (a stored time past Date's range
      // answered a GET with 400 "body could not be parsed", and logged nothing).
      error = toRunboxError(thrown);
      status = 500;
    }
    // The stack goes to the log under the request id; the client gets the id, not the stack.
    // A 503 or 507 is a state the server met and answered as meant (an outage, a full
    // disk): a stack at level error for each refused request flooded the log with "bug".
    if (status === 500) request.log.error({ err: thrown }, 'request failed');
    else if (status > 500) {
      request.log.warn({ error_type: error.type, message: error.message }, 'request refused');
    }
    if ((thrown as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await unreadBodyDropped(request);
    }
    void reply.status(status).send(errorBody(request, error));
  });
  // Each route's path as a pattern, to tell a path no route has (404) from a method the
  // path's routes do not take (405 with Allow): PUT /v1/jobs answered "no route", as if
  // the client had the path wrong rather than the method.
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) =>
        part === '*'
          ? '.*'
          : part.startsWith(':')
            ? '[^/]+'
            : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    routes.push({
      pattern: new RegExp(`^${source}$`),
      methods: ([] as string[]).concat(route.method),
    });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [
      ...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods)),
    ].sort();
    if (allowed.length > 0) {
      const error = new RunboxError(
        'MethodNotAllowed',
        `${shownValue(path)} does not take ${request.method}; it takes ${allowed.join(', ')}`,
        { field: 'method' },
      );
      void reply.status(405).header('allow', allowed.join(', ')).send(errorBody(request, error));
      return;
    }
    const error = new RunboxError('NotFound', `no route ${request.method} ${shownValue(path)}`, {
      field: 'url',
    });
    void reply.status(404).send(errorBody(request, error));
  });
}
