import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { activityView } from '../../src/api/activityView.js';
import { JobService } from '../../src/api/jobService.js';
import { buildServer } from '../../src/api/server.js';
import { SESSION_SECONDS, Sessions } from '../../src/api/session.js';
import { RunboxMetrics } from '../../src/metrics.js';
import { SqliteQueue } from '../../src/queue/sqlite/SqliteQueue.js';
import { createFileBlobStore } from '../../src/storage/index.js';
import { testConfig } from '../helpers/testConfig.js';

/**
 * The dashboard's session cookie, in-process: who gets one, what it unlocks, and that
 * it never lifts the Host, Origin and Sec-Fetch-Site rules. (The browser tests check
 * the same against a real server and a real Chromium.)
 */

const TOKEN = 'unit-token-ü';
const HOST = { host: '127.0.0.1:7070' };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function server(token: string | null): Promise<FastifyInstance> {
  const { config, cleanup } = testConfig({ token, limits: { minFreeBytes: 0 } });
  const queue = SqliteQueue.open(config);
  const app = await buildServer({
    config,
    jobs: new JobService(config, queue),
    runningLogs: { find: () => Promise.resolve(null) },
    store: await createFileBlobStore(config),
    system: {
      engineUp: () => true,
      queueUp: () => true,
      imagesMissing: () => [],
      diskLow: async () => false,
      activity: async () => activityView(await queue.activity()),
      workers: async () => [],
      queues: async () => [],
      metrics: new RunboxMetrics({ process: 'serve', workerId: 'test' }),
      runtimes: async () => [],
    },
  });
  cleanups.push(async () => {
    await app.close();
    await queue.close();
    cleanup();
  });
  return app;
}

async function login(app: FastifyInstance, token: string) {
  return app.inject({ method: 'POST', url: '/v1/session', headers: HOST, payload: { token } });
}

describe('dashboard session cookie', () => {
  it('is set only for the right token, HttpOnly, SameSite=Strict, and holds no token', async () => {
    const app = await server(TOKEN);
    const wrong = await login(app, 'not-it');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.json().error).toMatchObject({ type: 'Unauthorized', field: 'token' });

    const right = await login(app, TOKEN);
    expect(right.statusCode).toBe(204);
    const cookie = String(right.headers['set-cookie']);
    expect(cookie).toMatch(/^runbox_session_\d+=\d+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; /);
    expect(cookie.split('; ').slice(1)).toEqual([
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      'Max-Age=86400',
    ]);
    expect(cookie).not.toContain(TOKEN);
    expect(right.headers['cache-control']).toBe('no-store');
  });

  it('unlocks the API in place of the bearer header, and no other value does', async () => {
    const app = await server(TOKEN);
    const cookie = String((await login(app, TOKEN)).headers['set-cookie']).split(';')[0]!;
    const [name] = cookie.split('=');
    const get = (headers: Record<string, string>) =>
      app.inject({ method: 'GET', url: '/v1/jobs', headers: { ...HOST, ...headers } });
    expect((await get({ cookie })).statusCode).toBe(200);
    expect((await get({ cookie: `other=1; ${cookie}; more=2` })).statusCode).toBe(200);
    expect((await get({})).statusCode).toBe(401);
    expect(
      (await get({ cookie: `${name}=${new Sessions('another-token').issue(Date.now())}` }))
        .statusCode,
    ).toBe(401);
    expect((await get({ cookie: `${name}=` })).statusCode).toBe(401);
    expect((await get({ cookie: `${name}=${TOKEN}` })).statusCode).toBe(401);
    // A bearer header decides alone: a wrong one is refused beside a good cookie.
    expect((await get({ cookie, authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect((await get({ authorization: `Bearer ${TOKEN}` })).statusCode).toBe(200);
  });

  // Seen: "authorization: bearer <right token>" got 401; the scheme is case-insensitive
  // (RFC 9110 11.1) and some clients send it in lower case.
  it('takes the Bearer scheme in any case, and nothing but the token after it', async () => {
    const app = await server(TOKEN);
    const get = (authorization: string) =>
      app.inject({ method: 'GET', url: '/v1/jobs', headers: { ...HOST, authorization } });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await get(`${scheme} ${TOKEN}`)).statusCode, scheme).toBe(200);
    }
    expect((await get(`Bearer  ${TOKEN}`)).statusCode).toBe(200);
    expect((await get(`Bearer ${TOKEN}x`)).statusCode).toBe(401);
    expect((await get(`Bearer x${TOKEN}`)).statusCode).toBe(401);
    expect((await get(`Basic ${TOKEN}`)).statusCode).toBe(401);
    expect((await get(`Bearer${TOKEN}`)).statusCode).toBe(401);
  });

  // Seen: the login is open to anyone and took bodies up to the API's 16 MiB, parsed
  // as JSON before the token was looked at; a token is at most 4,096 characters.
  it('refuses a login body larger than a token could need, unauthenticated as it is', async () => {
    const app = await server(TOKEN);
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { ...HOST, 'content-type': 'application/json' },
      payload: JSON.stringify({ token: 'x'.repeat(100_000) }),
    });
    expect(answer.statusCode).toBe(413);
    expect(answer.json().error).toMatchObject({ type: 'PayloadTooLarge' });
    const logout = await app.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: { ...HOST, 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(100_000) }),
    });
    expect(logout.statusCode).toBe(413);
    // The largest token the schema takes, as \u escapes, still fits.
    const longest = await app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { ...HOST, 'content-type': 'application/json' },
      payload: JSON.stringify({ token: '\u00fc'.repeat(4096) }).replace(/ü/g, '\\u00fc'),
    });
    expect(longest.statusCode).toBe(401);
  });

  it('does not lift the Host, Origin or Sec-Fetch-Site rules', async () => {
    const app = await server(TOKEN);
    const cookie = String((await login(app, TOKEN)).headers['set-cookie']).split(';')[0]!;
    const post = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...HOST, cookie, ...headers },
        payload: { runtime: 'shell', command: ['true'] },
      });
    expect((await post({ host: 'evil.example:7070' })).statusCode).toBe(421);
    expect((await post({ origin: 'http://evil.example' })).statusCode).toBe(403);
    expect((await post({ origin: 'http://127.0.0.1:7071' })).statusCode).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' })).statusCode).toBe(403);
    expect((await post({ origin: 'http://127.0.0.1:7070' })).statusCode).toBe(201);
    // Logging in from another origin is refused too: no cookie is handed out.
    const foreign = await app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { ...HOST, origin: 'http://evil.example' },
      payload: { token: TOKEN },
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers['set-cookie']).toBeUndefined();
  });

  it('logs out by expiring the cookie', async () => {
    const app = await server(TOKEN);
    const out = await app.inject({ method: 'DELETE', url: '/v1/session', headers: HOST });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^runbox_session_\d+=; .*Max-Age=0/);
  });

  // Seen: the cookie was one HMAC of the token, the same for every login and valid
  // forever, so a copy of it taken once (a shared machine, a proxy's log) kept working
  // after "Log out" and after the day the README promises, until the token changed.
  it('ends on the server at logout: the same cookie is refused afterwards', async () => {
    const app = await server(TOKEN);
    const first = String((await login(app, TOKEN)).headers['set-cookie']).split(';')[0]!;
    const second = String((await login(app, TOKEN)).headers['set-cookie']).split(';')[0]!;
    expect(second).not.toBe(first);
    const get = (cookie: string) =>
      app.inject({ method: 'GET', url: '/v1/jobs', headers: { ...HOST, cookie } });
    expect((await get(first)).statusCode).toBe(200);
    const out = await app.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: { ...HOST, cookie: first },
    });
    expect(out.statusCode).toBe(204);
    expect((await get(first)).statusCode).toBe(401);
    // Another browser's session stays.
    expect((await get(second)).statusCode).toBe(200);
  });

  it('is refused by the server a day after it was issued, whatever the browser keeps', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const sessions = new Sessions(TOKEN);
    const value = sessions.issue(t0);
    expect(sessions.valid(value, t0)).toBe(true);
    expect(sessions.valid(value, t0 + (SESSION_SECONDS - 1) * 1000)).toBe(true);
    expect(sessions.valid(value, t0 + SESSION_SECONDS * 1000)).toBe(false);
    // Issued "in the future" (a forged time) or signed with another token: refused.
    expect(sessions.valid(value, t0 - 10 * 60 * 1000)).toBe(false);
    expect(new Sessions('another-token').valid(value, t0)).toBe(false);
    // Its time cannot be moved forward without the token.
    const [issued, rest] = [value.split('.')[0]!, value.slice(value.indexOf('.'))];
    expect(sessions.valid(`${Number(issued) + 3600}${rest}`, t0)).toBe(false);
  });

  it('needs no login on a server without a token, and sets no cookie', async () => {
    const app = await server(null);
    const answer = await login(app, 'anything');
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: HOST })).statusCode).toBe(
      200,
    );
  });

  it('serves the page and its files without the token, with a strict CSP and no framing', async () => {
    const app = await server(TOKEN);
    const page = await app.inject({ method: 'GET', url: '/', headers: HOST });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).not.toMatch(/https?:\/\//); // nothing from a CDN
    for (const [url, type] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const file = await app.inject({ method: 'GET', url, headers: HOST });
      expect(file.statusCode, url).toBe(200);
      expect(file.headers['content-type']).toBe(type);
      expect(file.body.length).toBeGreaterThan(1000);
      expect(file.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    // Anything else under /dashboard is not open.
    const other = await app.inject({ method: 'GET', url: '/dashboard/x', headers: HOST });
    expect(other.statusCode).toBe(401);
  });
});
