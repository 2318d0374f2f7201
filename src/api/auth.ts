import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RunboxError } from '../errors/index.js';
import { LoginLimiter } from './loginLimiter.js';
import { cookieName, readCookie, type Sessions } from './session.js';

/** Paths open without the token; they reveal nothing about jobs. */
const OPEN_PATHS = new Set([
  '/healthz',
  // The API reference: the same for every runbox of this version, and a browser
  // cannot send a bearer token when it opens a page.
  '/openapi.json',
  '/docs',
  '/docs/swagger-ui.css',
  '/docs/swagger-ui-bundle.js',
  '/docs/init.js',
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
 * A bearer token as Node read it: each header byte as one Latin-1 character. Node's
 * http client and fetch() send a token's Latin-1 characters as such bytes; curl and
 * runbox's own CLI send UTF-8, which reads here as "tÃ¶k" for "tök". Both are the
 * token; before, a non-ASCII token refused every UTF-8 client with 401.
 */
export function bearerMatches(given: string, expected: string): boolean {
  const asUtf8 = Buffer.from(given, 'latin1').toString('utf8');
  // Both compared every time: which one matched does not show in the timing.
  const raw = tokenMatches(given, expected);
  const utf8 = tokenMatches(asUtf8, expected);
  return raw || utf8;
}

/**
 * Requires `Authorization: Bearer <token>`, or the dashboard's session cookie, on every
 * route but the open ones when a token is set. A bearer header, when sent, decides
 * alone: a wrong one is refused even beside a good cookie.
 */
export function registerAuth(
  app: FastifyInstance,
  token: string | null,
  sessions: Sessions | null,
  limiter: LoginLimiter = new LoginLimiter(),
): void {
  if (token === null || sessions === null) return;
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '')) return;
    const header = request.headers.authorization;
    // The scheme's case is not significant (RFC 9110 11.1); a token has no space at
    // either end (config), so the spaces around it are separators.
    const match = /^Bearer +(.+?) *$/i.exec(header ?? '');
    const cookie = header === undefined ? readCookie(request, cookieName(request)) : null;
    // A bearer header is a guess at the token, limited per address like the login;
    // while limited every bearer request from the address is refused before the
    // comparison, so a 200 among the 429s cannot confirm a guess. A missing header or
    // a session cookie (an HMAC no one guesses) takes nothing from the bucket.
    const refused = match ? limiter.refusal(request.ip, 'authorization') : null;
    if (refused) {
      void reply.header('retry-after', String(refused.retryAfter));
      throw refused.error;
    }
    const ok = match
      ? bearerMatches(match[1]!, token)
      : cookie !== null && sessions.valid(cookie, Date.now());
    if (match && !ok) limiter.failed(request.ip);
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
