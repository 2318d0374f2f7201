import type { FastifyInstance, FastifyRequest } from 'fastify';
import { canonicalJobId } from '../queue/ids.js';

/**
 * Every route under /v1/jobs/:id takes the job id in any case and answers for the id as
 * stored (queue/ids.ts): a lower case id was 404 on each of them. Checked once, before
 * the handler, so the handler's later reads (the live log file, a wait, the cancel hook)
 * and its messages all use the stored id. A malformed id is refused here, 400 naming
 * params.id, as the schema's own check of that param (its length) names it.
 */
export function registerJobIdParam(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/jobs/:id')) return;
    const canonical = async (request: FastifyRequest) => {
      const params = request.params as { id: string };
      params.id = canonicalJobId(params.id, 'params.id');
    };
    route.preHandler = [canonical, ...[route.preHandler ?? []].flat()];
  });
}
