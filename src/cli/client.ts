import { constants } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { ReadableStreamDefaultReader, ReadableStreamReadResult } from 'node:stream/web';
import { RunboxError, type ErrorType } from '../errors/index.js';
import { redactUrl } from '../queueUrl.js';
import { plainRequest, tooLarge, tooSlow, type AnswerLimits } from './plainHttp.js';

/**
 * A server path under --server's own path: a runbox a reverse proxy serves at
 * http://host/runbox/ is asked at /runbox/v1/..., not at the host's /v1/... (resolving
 * '/v1/...' against the URL would drop the prefix).
 */
export function serverUrl(server: string, path: string): URL {
  const base = new URL(server);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return new URL(path.replace(/^\/+/, ''), base);
}

/**
 * The most a JSON answer may hold. The server builds each answer as one string
 * (JSON.stringify), so it can send no more than V8's longest string: a page of 1,000 jobs
 * carries each job's script, so `ls` is bounded by nothing smaller (one job's view, its
 * 128 MiB of inputs as base64 and 10,000 outputs, is about 190 MiB). It is also the most
 * this client can decode at all: a longer answer failed ERR_STRING_TOO_LONG once read.
 * Unbounded, a --server streaming bytes for ever took 1.5 GB in 20 s.
 */
export const ANSWER_MAX_BYTES = constants.MAX_STRING_LENGTH;

/**
 * How long an answer may send nothing before it is given up. A runbox server is silent
 * while it works: a PostgreSQL pool waits up to 10 s for a connection before it answers
 * 503, SQLite's busy_timeout is 5 s, and a loaded two-core node took tens of seconds for
 * a large submit; 60 s is well past those. It is idle time, so an answer whose bytes keep
 * coming over a slow link is never cut, and a `wait=true` call gets its `wait_seconds`
 * on top (requestLimits). No config key holds it: the config's `limits` are the server's.
 */
export const ANSWER_IDLE_MS = 60_000;

/** The most of a refusal's body read from a streamed answer (logs, downloads). */
export const ERROR_MAX_BYTES = 1024 * 1024;

/** The server's wait when `wait=true` names no `wait_seconds` (GET /v1/jobs/{id}). */
const SERVER_DEFAULT_WAIT_SECONDS = 60;

/** The limits of one JSON call: a long poll's wait is silence the server promised. */
export function requestLimits(url: URL): AnswerLimits {
  const query = url.searchParams;
  const waitSeconds =
    query.get('wait') === 'true'
      ? Number(query.get('wait_seconds') ?? SERVER_DEFAULT_WAIT_SECONDS) || 0
      : 0;
  return { maxBytes: ANSWER_MAX_BYTES, idleMs: ANSWER_IDLE_MS + waitSeconds * 1000 };
}

/** Talks to a runbox server for the client commands (--server / RUNBOX_SERVER). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
  ) {
    // `--server 127.0.0.1:7070` (no scheme) parses as a URL of scheme "127.0.0.1:", and
    // the first request failed Internal (exit 70) "Invalid URL": the user's mistake.
    let parsed: URL | null;
    try {
      parsed = new URL(baseUrl);
    } catch {
      parsed = null;
    }
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      throw new RunboxError(
        'UsageError',
        `server "${redactUrl(baseUrl)}" is not an http:// or https:// URL; give e.g. http://127.0.0.1:7070 (--server or RUNBOX_SERVER)`,
        { field: 'server' },
      );
    }
    // `http://user:pw@host` worked for status and ls (node:http sends it as Basic) and
    // not for logs or submit --follow (fetch refuses such a URL: "cannot reach", 69),
    // and every error message quoted the password. The token is runbox's credential.
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
      throw new RunboxError(
        'UsageError',
        `server URL ${parsed.href} was given with user:password@, which runbox does not send; ` +
          'remove it, and give the server\'s token as RUNBOX_TOKEN or "token" in the config file (--server or RUNBOX_SERVER)',
        { field: 'server' },
      );
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  url(path: string): URL {
    return serverUrl(this.baseUrl, path);
  }

  /**
   * Raw fetch with the token and a clear error when the server is not there. The wait for
   * the answer's headers is bounded as a JSON call's silence is (ANSWER_IDLE_MS): a
   * --server that accepted and said nothing held `logs` and `outputs -o` for fetch's own
   * 300 s. Only the headers: the body is chunks()'s, and a follow's may be silent for as
   * long as its job prints nothing.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = this.url(path);
    const headersWait = new AbortController();
    const timer = setTimeout(() => headersWait.abort(), ANSWER_IDLE_MS);
    try {
      return await fetch(url, {
        ...init,
        signal: headersWait.signal,
        headers: this.headers((init.headers as Record<string, string>) ?? {}),
      });
    } catch (error) {
      if (headersWait.signal.aborted) {
        throw this.silent(`${init.method ?? 'GET'} ${path}`, ANSWER_IDLE_MS, error);
      }
      throw this.unreachable(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An answer's body, chunk by chunk. A connection that breaks before the body ends (the
   * server killed or restarted, a proxy dropping it) surfaced as undici's bare
   * "terminated", printed as `runbox: Internal: terminated` with exit 70; it is the
   * server going away, so it is ServerUnavailable (69), saying how much had arrived and
   * what to do next (`again`). With `idleMs`, a body that sends nothing for that long
   * ends the same way (a follow passes null: its job may print nothing for hours).
   */
  async *chunks(
    response: Response,
    what: string,
    again: string,
    idleMs: number | null = null,
  ): AsyncGenerator<Uint8Array> {
    if (!response.body) return;
    const reader = response.body.getReader();
    let read = 0;
    try {
      for (;;) {
        const next = await this.nextChunk(reader, idleMs).catch((error: unknown) => {
          const e = error as { cause?: { code?: string; message?: string }; message?: string };
          throw new RunboxError(
            'ServerUnavailable',
            `the connection to the runbox server at ${this.baseUrl} broke after ${read} bytes of ${what} ` +
              `(${e.cause?.message ?? e.message ?? 'closed'}); ${again}`,
            { field: 'server', cause: error },
          );
        });
        if (next === 'idle') {
          throw new RunboxError(
            'ServerUnavailable',
            `the server at ${this.baseUrl} sent nothing for ${(idleMs ?? 0) / 1000} s after ${read} bytes of ${what}; ${again}`,
            { field: 'server' },
          );
        }
        if (next.done) return;
        read += next.value.length;
        yield next.value;
      }
    } finally {
      // Stops the body (the connection closes) when the reader leaves early: an error, or
      // a caller that has read enough.
      await reader.cancel().catch(() => undefined);
    }
  }

  private async nextChunk(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    idleMs: number | null,
  ): Promise<ReadableStreamReadResult<Uint8Array> | 'idle'> {
    if (idleMs === null) return reader.read();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((done) => {
      timer = setTimeout(() => done('idle'), idleMs);
    });
    try {
      return await Promise.race([reader.read(), idle]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** fetch() that turns a non-2xx answer into the RunboxError the server described. */
  async fetchOk(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await this.fetch(path, init);
    if (!response.ok) {
      const text = await this.errorText(response, `${init.method ?? 'GET'} ${path}`);
      throw errorFromBody(response.status, parseJson(text), text, this.baseUrl);
    }
    return response;
  }

  /**
   * A refusal's body, read up to ERROR_MAX_BYTES and as long as bytes keep coming: a
   * runbox error is a few hundred bytes of JSON, and `response.text()` read a hostile
   * server's endless 404 into memory without end. Past the cap it is not a runbox
   * server's answer, and the first bytes say so as well as all of them would.
   */
  private async errorText(response: Response, request: string): Promise<string> {
    const kept: Uint8Array[] = [];
    let bytes = 0;
    const again = 'point --server / RUNBOX_SERVER at a runbox server';
    for await (const chunk of this.chunks(
      response,
      `the answer to ${request}`,
      again,
      ANSWER_IDLE_MS,
    )) {
      kept.push(chunk);
      bytes += chunk.length;
      if (bytes >= ERROR_MAX_BYTES) break;
    }
    return Buffer.concat(kept).subarray(0, ERROR_MAX_BYTES).toString('utf8');
  }

  /**
   * JSON request; a non-2xx answer becomes the RunboxError the server described.
   *
   * Over node:net (plainHttp.ts), not fetch() or node:http: the first fetch() in a
   * process loads and compiles Node's bundled undici, which measured ~55 ms of CPU here
   * against ~12 ms for node:http, and node:http's own modules were most of what was left
   * of a `runbox submit`'s request (see README, Performance). Streaming reads (logs,
   * output downloads) keep fetch().
   */
  async json<T>(
    method: string,
    path: string,
    body?: unknown,
    /** A key the command reads: a list (`jobs`, `workers`...) or a string (a job's `id`). */
    needs?: string,
  ): Promise<{ status: number; body: T }> {
    const response = await this.request(method, path, body);
    if (response.status < 200 || response.status > 299) {
      throw errorFromBody(response.status, parseJson(response.text), response.text, this.baseUrl);
    }
    const parsed = parseJson(response.text);
    if (response.status === 204 && needs === undefined) return { status: 204, body: null as T };
    // Every runbox answer with a body is a JSON object: anything else came from another server.
    if (
      parsed === null ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed) ||
      (needs !== undefined && !isListOrText((parsed as Record<string, unknown>)[needs]))
    ) {
      throw notRunbox(this.baseUrl, `${method} ${path}`, response.status, response.text);
    }
    return { status: response.status, body: parsed as T };
  }

  /**
   * The answer as it came, whatever its status (json() without its reading of it), within
   * `limits`: by default requestLimits'. Read whole with no cap and no clock, a --server
   * that accepted the connection and said nothing held `status`, `ls`, `submit --wait`...
   * for ever, and one streaming bytes took memory until the OOM killer came.
   */
  async request(
    method: string,
    path: string,
    body?: unknown,
    limits?: AnswerLimits,
  ): Promise<{ status: number; text: string }> {
    const url = this.url(path);
    const bounds = limits ?? requestLimits(url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = this.headers(
      payload === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(payload.length) },
    );
    try {
      return url.protocol === 'https:'
        ? await httpsRequest(url, method, headers, payload, bounds)
        : await plainRequest(url, method, headers, payload, bounds);
    } catch (error) {
      throw this.unbounded(error, `${method} ${path}`, bounds) ?? this.unreachable(error);
    }
  }

  /**
   * An answer past its limits, as ServerUnavailable (69), as notRunbox says of any other
   * answer no runbox server gives; null for any other failure.
   */
  private unbounded(error: unknown, what: string, limits: AnswerLimits): RunboxError | null {
    const code = (error as { code?: string }).code;
    const fix = 'point --server / RUNBOX_SERVER at a runbox server';
    if (code === 'E2BIG') {
      return new RunboxError(
        'ServerUnavailable',
        `the server at ${this.baseUrl} answered ${what} with more than ${limits.maxBytes} bytes, ` +
          `more than a runbox server sends; ${fix}`,
        { field: 'server', cause: error },
      );
    }
    if (code === 'ETIMEDOUT') return this.silent(what, limits.idleMs, error);
    return null;
  }

  /** No answer (or no headers of one) within idleMs, as ServerUnavailable (69). */
  private silent(what: string, idleMs: number, cause: unknown): RunboxError {
    return new RunboxError(
      'ServerUnavailable',
      `the server at ${this.baseUrl} sent nothing for ${idleMs / 1000} s in answer to ${what}; ` +
        'check that runbox serve runs and answers there, or point --server / RUNBOX_SERVER at a runbox server',
      { field: 'server', cause },
    );
  }

  private unreachable(error: unknown): RunboxError {
    const e = error as { code?: string; cause?: { code?: string }; message?: string };
    const code = e.cause?.code ?? e.code ?? e.message;
    return new RunboxError(
      'ServerUnavailable',
      notOverTls(this.baseUrl, code) ??
        `cannot reach the runbox server at ${this.baseUrl} (${code}); ` +
          'start it with `runbox serve` or point --server / RUNBOX_SERVER at it',
      { field: 'server', cause: error },
    );
  }
}

/**
 * What to say when a TLS handshake with an https:// server got a plain answer: it runs
 * (runbox serve speaks plain HTTP), so "start it" would mislead. Null for anything else.
 */
export function notOverTls(url: string, code: string | undefined): string | null {
  if (!url.startsWith('https:') || !(code === 'EPROTO' || code?.startsWith('ERR_SSL_'))) {
    return null;
  }
  return (
    `the server at ${url} answered, but not over TLS (${code}): runbox serve speaks plain ` +
    'HTTP; use http://, or put a TLS proxy in front of it'
  );
}

/** node:https (and TLS with it) loads only for an https:// server. */
async function httpsRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  limits: AnswerLimits,
): Promise<{ status: number; text: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    // agent: false: one connection per call, closed after it, so nothing keeps the
    // process alive once the command is done.
    const req = request(url, { method, headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > limits.maxBytes) req.destroy(tooLarge(limits));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.setTimeout(limits.idleMs, () => req.destroy(tooSlow(limits)));
    req.on('error', reject);
    req.end(payload);
  });
}

const isListOrText = (value: unknown) => Array.isArray(value) || typeof value === 'string';

export function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** The error a runbox answer body describes; null for any other body. */
export function describedError(parsed: unknown): RunboxError | null {
  const error = (
    parsed as { error?: { type?: string; message?: string; field?: string | null } } | null
  )?.error;
  if (error?.type && error.message) {
    return new RunboxError(error.type as ErrorType, error.message, { field: error.field ?? null });
  }
  return null;
}

/**
 * An answer no runbox server gives (a login page, a proxy's 502, `{}` where a page of
 * jobs belongs): --server or RUNBOX_SERVER points at something else, or a proxy in
 * front of runbox failed. It crashed commands ("page.jobs is not iterable", Internal 70).
 */
export function notRunbox(server: string, what: string, status: number, text: string): RunboxError {
  const shown = JSON.stringify(text.slice(0, 120));
  return new RunboxError(
    'ServerUnavailable',
    `the server at ${server} did not answer ${what} as a runbox server does (${status}: ${shown}); ` +
      'point --server / RUNBOX_SERVER at a runbox server',
    { field: 'server' },
  );
}

export function errorFromBody(
  status: number,
  parsed: unknown,
  text: string,
  server: string,
): RunboxError {
  return describedError(parsed) ?? notRunbox(server, 'a request', status, text);
}
