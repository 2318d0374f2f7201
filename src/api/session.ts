import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * The dashboard's login: a browser cannot put a bearer token on a link or on the
 * page it opens, so once it has shown the token (POST /v1/session) it gets a cookie
 * the API accepts instead.
 *
 * The cookie holds an HMAC of the token, not the token: the raw token never sits in
 * the browser's cookie jar, and changing the token ends every session. HttpOnly keeps
 * it from scripts; SameSite=Strict keeps browsers from sending it with any request
 * another site starts. What SameSite cannot stop (a page on another port of the same
 * host is the same "site") the Origin and Sec-Fetch-Site checks in hostCheck.ts refuse
 * before the cookie is even looked at.
 *
 * Cookies ignore ports, so two runboxes on one host would overwrite each other's
 * cookie: the name carries the port the request came in on.
 */

const LABEL = 'runbox dashboard session v1';
/** A browser session: a day, then the token is asked for again. */
export const SESSION_SECONDS = 24 * 60 * 60;

export function sessionValue(token: string): string {
  return createHmac('sha256', token).update(LABEL).digest('base64url');
}

export function cookieName(request: FastifyRequest): string {
  return `runbox_session_${request.socket.localPort ?? 0}`;
}

/** The value of one cookie of the request, or null. */
export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * The Set-Cookie header: HttpOnly, SameSite=Strict, Path=/ (the API and the page),
 * and Secure when the request itself came over TLS (runbox serves plain HTTP; behind a
 * TLS proxy that talks plain HTTP to it the proxy should add Secure).
 */
export function sessionCookie(request: FastifyRequest, value: string | null): string {
  const parts = [
    `${cookieName(request)}=${value ?? ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    value === null ? 'Max-Age=0' : `Max-Age=${SESSION_SECONDS}`,
  ];
  if (request.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}
