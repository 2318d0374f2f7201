import { RunboxError } from '../../errors/index.js';
import type { Api } from '../typeProvider.js';

/**
 * /v1/schedules on a queue backend with no schedule table yet (createHookStores gave
 * null): every method answers a typed NotFound that says why, instead of Fastify's bare
 * route-not-found, so a client learns it is the backend and not a typo. Hidden from the
 * OpenAPI document, which describes the routes a full server has.
 */
export function registerSchedulesAbsent(app: Api, backend: string): void {
  const refuse = async () => {
    throw new RunboxError(
      'NotFound',
      `schedules: the ${backend} queue backend has no schedules yet ` +
        '(use the SQLite queue for /v1/schedules)',
      { field: 'schedules' },
    );
  };
  for (const url of ['/v1/schedules', '/v1/schedules/*']) {
    app.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      schema: { hide: true },
      handler: refuse,
    });
  }
}
