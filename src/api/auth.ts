import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RunboxError } from '../errors/index.js';
import { cookieName, readCookie, sessionValue } from './session.js';

/** Paths open without the token; they reveal nothing about jobs. */
const OPEN_PATHS = new Set([
  '/healthz',
  // The API reference: the same for every runbox of this version, and a browser
  // cannot send a bearer token when it opens a page.
  '/openapi.json',
  '/docs',
  '/docs/swagger-ui.css',
  '/docs/swagger-ui-bundle.js',
  // The dashboard's page and code are the same for every runbox of this version; its
  // data comes from the API, which asks for the token (or the session cookie).
  '/',
  '/dashboard/app.js',
  '/dashboard/app.css',
  // Logging in (POST: checks the token it is given) and out (DELETE: clears the cookie).
  '/v1/session',
]);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares through fixed-length digests, so neither length nor content leaks by timing. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Requires `Authorization: Bearer <token>`, or the dashboard's session cookie, on every
 * route but the open ones when a token is set. A bearer header, when sent, decides
 * alone: a wrong one is refused even beside a good cookie.
 */
export function registerAuth(app: FastifyInstance, token: string | null): void {
  if (token === null) return;
  const session = sessionValue(token);
  app.addHook('onRequest', async (request) => {
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '')) return;
    const header = request.headers.authorization;
    const match = /^Bearer (.+)$/.exec(header ?? '');
    const cookie = header === undefined ? readCookie(request, cookieName(request)) : null;
    const ok = match
      ? tokenMatches(match[1]!, token)
      : cookie !== null && tokenMatches(cookie, session);
    if (!ok) {
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
