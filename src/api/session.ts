import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * The dashboard's login: a browser cannot put a bearer token on a link or on the
 * page it opens, so once it has shown the token (POST /v1/session) it gets a cookie
 * the API accepts instead.
 *
 * The cookie holds an HMAC made with the token, not the token: the raw token never sits
 * in the browser's cookie jar, and changing the token ends every session. HttpOnly keeps
 * it from scripts; SameSite=Strict keeps browsers from sending it with any request
 * another site starts. What SameSite cannot stop (a page on another port of the same
 * host is the same "site") the Origin and Sec-Fetch-Site checks in hostCheck.ts refuse
 * before the cookie is even looked at.
 *
 * Cookies ignore ports, so two runboxes on one host would overwrite each other's
 * cookie: the name carries the port the request came in on.
 */

const LABEL = 'runbox dashboard session v2';
/** A browser session: a day, then the token is asked for again. */
export const SESSION_SECONDS = 24 * 60 * 60;
/** Clocks of two nodes sharing a token may differ this much. */
const SKEW_MS = 60_000;

/**
 * Session values `<issued unix seconds>.<nonce>.<HMAC(token, label, issued, nonce)>`.
 * The server checks the age itself (Max-Age is only what the browser is asked to do),
 * and each login gets its own value, so logging out can end that one session here:
 * its value is remembered as revoked until it would have expired anyway. The revoked
 * set is per process, like the login limiter; only holders of the token can add to it.
 */
export class Sessions {
  private readonly revoked = new Map<string, number>();

  constructor(private readonly token: string) {}

  issue(now: number): string {
    const issued = String(Math.floor(now / 1000));
    const nonce = randomBytes(16).toString('base64url');
    return `${issued}.${nonce}.${this.mac(issued, nonce)}`;
  }

  valid(value: string, now: number): boolean {
    const issuedAt = this.issuedAt(value);
    if (issuedAt === null) return false;
    if (issuedAt > now + SKEW_MS || now - issuedAt >= SESSION_SECONDS * 1000) return false;
    return !this.revoked.has(value);
  }

  revoke(value: string, now: number): void {
    if (!this.valid(value, now)) return;
    for (const [old, until] of this.revoked) if (until <= now) this.revoked.delete(old);
    this.revoked.set(value, this.issuedAt(value)! + SESSION_SECONDS * 1000);
  }

  /** When a value this token signed was issued, in ms; null for anything else. */
  private issuedAt(value: string): number | null {
    const parts = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!parts) return null;
    const expected = Buffer.from(this.mac(parts[1]!, parts[2]!));
    const given = Buffer.from(parts[3]!);
    if (!timingSafeEqual(expected, given)) return null;
    return Number(parts[1]) * 1000;
  }

  private mac(issued: string, nonce: string): string {
    return createHmac('sha256', this.token)
      .update(`${LABEL}\n${issued}\n${nonce}`)
      .digest('base64url');
  }
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
