import type { FastifyInstance, RouteOptions } from 'fastify';
import { RUNBOX_VERSION } from '../version.js';

interface Operation {
  summary?: string;
  parameters: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

/**
 * Collects every route's schemas as routes are registered and serves them as an
 * OpenAPI 3.1 document at /openapi.json: the document cannot drift from what the
 * server validates, because it is built from the same schema objects.
 */
export function registerOpenApi(app: FastifyInstance): void {
  const paths: Record<string, Record<string, Operation>> = {};
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = (route.schema ?? {}) as Record<string, unknown> & { hide?: boolean };
    if (schema.hide) return;
    const path = route.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
      (m) => m !== 'HEAD',
    );
    for (const method of methods) {
      const parameters: unknown[] = [];
      for (const [part, where] of [
        ['params', 'path'],
        ['querystring', 'query'],
      ] as const) {
        const s = schema[part] as
          { properties?: Record<string, unknown>; required?: string[] } | undefined;
        for (const [name, sub] of Object.entries(s?.properties ?? {})) {
          parameters.push({
            name,
            in: where,
            required: where === 'path' || (s?.required ?? []).includes(name),
            schema: sub,
          });
        }
      }
      const op: Operation = {
        summary: schema.summary as string | undefined,
        parameters,
        responses: Object.fromEntries(
          Object.entries((schema.response as Record<string, unknown>) ?? { 200: {} }).map(
            ([code, s]) => [
              code,
              { description: String(code), content: { 'application/json': { schema: s } } },
            ],
          ),
        ),
      };
      if (schema.body)
        op.requestBody = {
          required: true,
          content: { 'application/json': { schema: schema.body } },
        };
      (paths[path] ??= {})[method.toLowerCase()] = op;
    }
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => ({
    openapi: '3.1.0',
    info: { title: 'runbox', version: RUNBOX_VERSION },
    paths: JSON.parse(JSON.stringify(paths)) as unknown,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  }));
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
    /** Leave the route out of the OpenAPI document. */
    hide?: boolean;
  }
}
