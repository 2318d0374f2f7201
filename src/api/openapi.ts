import type { FastifyInstance, RouteOptions } from 'fastify';
import { RUNBOX_VERSION } from '../version.js';
import { ErrorBodySchema } from './schemas.js';

type Json = Record<string, unknown>;

interface HeaderDoc {
  description: string;
  schema: Json;
}

const REQUEST_ID_HEADER = { $ref: '#/components/headers/RequestId' };
const RETRY_AFTER: Record<string, HeaderDoc> = {
  'retry-after': {
    description: 'Seconds until this address may send a bearer token again',
    schema: { type: 'integer' },
  },
};
const ERROR_DESCRIPTIONS: Record<string, string> = {
  400: 'Invalid input: the field is named in error.field',
  401: 'Missing or wrong bearer token',
  403:
    'A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a ' +
    'webhook delivery (Runbox-Delivery header) pointed at the API',
  404: 'No such job, output or route',
  409: 'The request conflicts with the current state',
  413: "Request body larger than the route's limit (limits.bodyBytes)",
  415: 'Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding)',
  408: 'The request did not arrive in full within limits.requestMs (headers or body cut short)',
  416: 'Range outside the file',
  429: 'Too many wrong tokens from this address: wait Retry-After seconds',
  431: 'Request headers larger than the server reads (PayloadTooLarge)',
  421: 'The Host header names no address this server answers for (DNS rebinding)',
  500: 'Internal error (logged with its stack under the request id)',
  503: 'The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable)',
  507: 'The data disk is nearly full',
};

/**
 * Copies a schema to plain JSON, turning every sub-schema with an `$id` into a
 * `$ref` to a component of that name. Two different schemas under one name would make
 * the document lie about one of them, so that throws (at the first /openapi.json).
 */
function toDocument(schema: unknown, components: Record<string, Json>): unknown {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const { $id, ...rest } = node as Json;
    const copy: Json = {};
    for (const [key, value] of Object.entries(rest)) copy[key] = walk(value);
    if (typeof $id !== 'string') return copy;
    const previous = components[$id];
    if (previous && JSON.stringify(previous) !== JSON.stringify(copy)) {
      throw new Error(`two different schemas are both named ${$id} in the OpenAPI document`);
    }
    components[$id] = copy;
    return { $ref: `#/components/schemas/${$id}` };
  };
  // TypeBox marks schemas with symbol keys; JSON drops them.
  return walk(JSON.parse(JSON.stringify(schema)));
}

function responseOf(
  status: string,
  schema: Json,
  headers: Record<string, HeaderDoc>,
  components: Record<string, Json>,
): Json {
  const description =
    (schema.description as string | undefined) ?? ERROR_DESCRIPTIONS[status] ?? 'OK';
  const answer: Json = { description, headers: { 'x-request-id': REQUEST_ID_HEADER, ...headers } };
  if (schema['x-no-body']) return answer;
  const mediaType = schema.contentMediaType as string | undefined;
  // The description was said above; without it a named schema is its component again.
  const { description: _said, ...body } = schema;
  answer.content = mediaType
    ? { [mediaType]: { schema: { type: 'string' } } }
    : { 'application/json': { schema: toDocument(body, components) } };
  return answer;
}

/**
 * Collects every route's schemas as routes are registered and serves them as an
 * OpenAPI 3.1 document at /openapi.json: the document cannot drift from what the
 * server validates and answers, because it is built from the same schema objects.
 */
export function registerOpenApi(app: FastifyInstance): void {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.schema?.hide) routes.push(route);
  });
  let built: { paths: Json; components: Record<string, Json> } | null = null;
  const build = () => {
    const components: Record<string, Json> = {};
    toDocument(ErrorBodySchema, components);
    const paths: Record<string, Json> = {};
    for (const route of routes) {
      const schema = route.schema!;
      // fastify's wildcard parameter is named "*"; OpenAPI needs a name, and the
      // path template must name it too.
      const path = route.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}');
      const parameters: Json[] = [];
      for (const [part, where] of [
        ['params', 'path'],
        ['querystring', 'query'],
        ['headers', 'header'],
      ] as const) {
        const s = schema[part] as { properties?: Json; required?: string[] } | undefined;
        for (const [name, sub] of Object.entries(s?.properties ?? {})) {
          const { description, ...rest } = toDocument(sub, components) as Json;
          parameters.push({
            name: name === '*' ? 'path' : name,
            in: where,
            required: where === 'path' || (s?.required ?? []).includes(name),
            ...(description ? { description } : {}),
            schema: rest,
          });
        }
      }
      const open = schema.security === false;
      const statuses: Record<string, Json> = {
        ...((schema.response ?? {}) as Record<string, Json>),
      };
      // Every route can fail these ways; each route lists its own other errors.
      if (parameters.length > 0 || schema.body) statuses['400'] ??= ErrorBodySchema;
      if (!open) {
        statuses['401'] ??= ErrorBodySchema;
        // auth.ts limits wrong bearer tokens per address on every route it guards.
        statuses['429'] ??= ErrorBodySchema;
        // With the queue on PostgreSQL (or blobs on S3) every read or write of them can
        // find it down; a client generated from the document had no type for that 503.
        if (!schema.readsNoStore) statuses['503'] ??= ErrorBodySchema;
      }
      // fastify reads a body on these methods whatever the route's schema: a route that
      // takes none still refuses a body of another type or over its limit, and a JSON
      // body that does not parse (400; DELETE /v1/session answered it undocumented).
      if (
        ([] as string[])
          .concat(route.method)
          .some((m) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m))
      ) {
        statuses['400'] ??= ErrorBodySchema;
        statuses['413'] ??= ErrorBodySchema;
        statuses['415'] ??= ErrorBodySchema;
      }
      // The Host and Origin checks run before every route, open ones included, and Node's
      // parser refuses oversized headers (431) and a request that does not arrive in full
      // within limits.requestMs (408) before any route is chosen.
      statuses['403'] ??= ErrorBodySchema;
      statuses['408'] ??= ErrorBodySchema;
      statuses['431'] ??= ErrorBodySchema;
      statuses['421'] ??= ErrorBodySchema;
      statuses['500'] ??= ErrorBodySchema;
      const responses = Object.fromEntries(
        Object.entries(statuses).map(([status, s]) => [
          status,
          responseOf(
            status,
            s,
            schema.responseHeaders?.[Number(status)] ?? (status === '429' ? RETRY_AFTER : {}),
            components,
          ),
        ]),
      );
      const operation: Json = {
        operationId: schema.operationId,
        summary: schema.summary,
        ...(schema.description ? { description: schema.description } : {}),
        tags: schema.tags,
        ...(open ? { security: [] } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(schema.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: toDocument(schema.body, components) } },
              },
            }
          : {}),
        responses,
      };
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
        (m) => m !== 'HEAD',
      );
      for (const method of methods) (paths[path] ??= {})[method.toLowerCase()] = operation;
    }
    return { paths, components };
  };

  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'getOpenApi',
        summary: 'This OpenAPI document',
        tags: ['system'],
        security: false,
        response: { 200: { type: 'object', description: 'An OpenAPI 3.1 document' } },
      },
    },
    async (request) => {
      built ??= build();
      return {
        openapi: '3.1.0',
        info: {
          title: 'runbox',
          version: RUNBOX_VERSION,
          description:
            'Run scripts in sandboxed Docker containers through a durable queue. ' +
            'A server with a token (required on a non-loopback address) needs ' +
            "`Authorization: Bearer <token>`, or the dashboard's session cookie, on every " +
            'route but `/healthz`, `/openapi.json`, `/docs`, the dashboard (`/` and its files) ' +
            'and its login (`/v1/session`); a server without a token accepts any request.',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        // The address the client used (an HTTP/1.0 request may name none: then relative).
        servers: [
          request.host
            ? { url: `${request.protocol}://${request.host}`, description: 'this server' }
            : { url: '/', description: 'this server' },
        ],
        security: [{ bearer: [] }],
        tags: [
          { name: 'jobs', description: 'Submit, read, list and cancel jobs' },
          { name: 'outputs', description: 'Logs and the files a job wrote' },
          { name: 'system', description: 'Health, workers, contract, metrics, this document' },
        ],
        paths: built.paths,
        components: {
          schemas: built.components,
          headers: {
            RequestId: {
              description:
                'The id of this request: the x-request-id sent (letters, digits, ._:- up to 128), or a new one',
              schema: { type: 'string' },
            },
          },
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        },
      };
    },
  );
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
    description?: string;
    /** The name a generated client calls this route by. */
    operationId?: string;
    tags?: string[];
    /** false for routes open without the token (/healthz). */
    security?: false;
    /**
     * true on a guarded route that reads neither the queue database nor the blob store,
     * so never answers 503 StorageUnavailable (/v1/contract, /v1/runtimes).
     */
    readsNoStore?: true;
    /** Response headers per status, for the OpenAPI document. */
    responseHeaders?: Record<number, Record<string, { description: string; schema: Json }>>;
    /** Leave the route out of the OpenAPI document. */
    hide?: boolean;
  }
}
