import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyTypeProvider } from 'fastify';

/**
 * Types each route's request parts and replies from its TypeBox schemas: a handler that
 * returns something its documented response schema does not describe does not compile.
 */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxProvider>();
}

export type Api = ReturnType<typeof typed>;
