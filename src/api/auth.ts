import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RunboxError } from '../errors/index.js';

/** Paths open without the token; they reveal nothing about jobs. */
const OPEN_PATHS = new Set([
  '/healthz',
  // The API reference: the same for every runbox of this version, and a browser
  // cannot send a bearer token when it opens a page.
  '/openapi.json',
  '/docs',
  '/docs/swagger-ui.css',
  '/docs/swagger-ui-bundle.js',
]);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares through fixed-length digests, so neither length nor content leaks by timing. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Requires `Authorization: Bearer <token>` on every route but /healthz when a token is set. */
export function registerAuth(app: FastifyInstance, token: string | null): void {
  if (token === null) return;
  app.addHook('onRequest', async (request) => {
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match || !tokenMatches(match[1]!, token)) {
      throw new RunboxError(
        'Unauthorized',
        'missing or wrong token: send "Authorization: Bearer <RUNBOX_TOKEN>"',
        {
          field: 'authorization',
        },
      );
    }
  });
}
