import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServerProcess, writeTestConfig } from '../helpers/serverProcess.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';

/**
 * POST /v1/session against a real `runbox serve`: wrong tokens from one address are
 * limited (10, then one every 6 s), answered 429 TooManyRequests with Retry-After,
 * the right token included while limited; right tokens never count. Wrong bearer
 * headers on the API have a bucket of their own.
 */
const TOKEN = 'rate-limit-token-ß-0123456789';

async function login(url: string, token: string) {
  const response = await fetch(new URL('/v1/session', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    cookie: response.headers.get('set-cookie'),
    error: text
      ? (JSON.parse(text) as { error: { type: string; field: string; message: string } }).error
      : null,
  };
}

describe('dashboard login rate limit', () => {
  const sandbox = useProcessSandbox('login-limit');

  it('answers 429 with Retry-After after 10 wrong tokens, and never counts right ones', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);

    // Right tokens, many of them: never limited.
    for (let i = 0; i < 30; i++) expect((await login(server.url, TOKEN)).status).toBe(204);

    // Hostile guesses: non-ASCII, at the length limit, a near miss.
    const guesses = ['x', 'ü'.repeat(10), 'g'.repeat(4096), TOKEN.slice(0, -1), `${TOKEN}0`];
    for (let i = 0; i < 10; i++) {
      const wrong = await login(server.url, guesses[i % guesses.length]!);
      expect(wrong.status, `guess ${i}`).toBe(401);
      expect(wrong.error).toMatchObject({ type: 'Unauthorized', field: 'token' });
    }
    const limited = await login(server.url, 'guess-11');
    expect(limited.status).toBe(429);
    expect(limited.error).toMatchObject({ type: 'TooManyRequests', field: 'token' });
    expect(limited.error!.message).toMatch(/try again in \d+ s/);
    const wait = Number(limited.retryAfter);
    expect(Number.isInteger(wait) && wait >= 1 && wait <= 6).toBe(true);
    // While limited, the right token is refused too: a 204 would confirm a guess.
    const right = await login(server.url, TOKEN);
    expect(right.status).toBe(429);
    expect(right.cookie).toBeNull();
    // Bodies the schema refuses are 400 and do not reach the limiter either way.
    const empty = await login(server.url, '');
    expect(empty.status).toBe(400);

    // One try comes back after Retry-After seconds; the right token then logs in.
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 200));
    const after = await login(server.url, TOKEN);
    expect(after.status).toBe(204);
    expect(after.cookie).toMatch(/^runbox_session_\d+=/);

    // The rest of the API is not affected by the limit.
    const jobs = await fetch(new URL('/v1/jobs', server.url), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(jobs.status).toBe(200);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  // Seen: Fastify turns Node's request timeout off, so a client that sent the open
  // login's headers and then a byte of body every 20 s still held its connection after
  // 150 s. limits.requestMs now bounds the whole request: 408, then the socket closes.
  it('closes a login whose body trickles in past limits.requestMs with 408', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      token: TOKEN,
      limits: { requestMs: 2000 },
    });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const { hostname, port } = new URL(server.url);
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write(
      `POST /v1/session HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const trickle = setInterval(() => socket.write(' '), 500);
    // Node looks for overdue requests every 30 s: closed within that of the limit.
    const closedAfter = await new Promise<number>((resolve) =>
      socket.on('close', () => resolve(Date.now() - started)),
    );
    clearInterval(trickle);
    expect(closedAfter).toBeGreaterThanOrEqual(2000);
    expect(closedAfter).toBeLessThan(40_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);

  // Seen: the login was limited but the bearer header was not, so a guesser skipped the
  // login and tried tokens on GET /v1/jobs as fast as the network allowed (hundreds of
  // 401s a second, never a 429). Wrong bearer tokens now have their own bucket.
  it('limits wrong bearer tokens on the API the same way, apart from the login', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, { token: TOKEN });
    const server = await startServerProcess({ dataDir: sandbox.dataDir, configFile, workers: 0 });
    sandbox.processes.push(server);
    const get = async (token: string | null) => {
      const response = await fetch(new URL('/v1/jobs', server.url), {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { error?: { type: string; field: string } };
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
    };
    for (let i = 0; i < 30; i++) expect((await get(TOKEN)).status).toBe(200);
    // No header at all is no guess.
    for (let i = 0; i < 15; i++) expect((await get(null)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await get(`guess-${i}`)).status, `guess ${i}`).toBe(401);
    const limited = await get('guess-11');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ type: 'TooManyRequests', field: 'authorization' });
    const wait = Number(limited.retryAfter);
    expect(Number.isInteger(wait) && wait >= 1 && wait <= 6).toBe(true);
    expect((await get(TOKEN)).status).toBe(429);
    // The login has its own count: the browser's way in stays open.
    expect((await login(server.url, TOKEN)).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 200));
    expect((await get(TOKEN)).status).toBe(200);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
