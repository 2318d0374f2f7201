import { RunboxError, type ErrorType } from '../errors/index.js';

/** Talks to a runbox server for the client commands (--server / RUNBOX_SERVER). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  /** Raw fetch with the token and a clear error when the server is not there. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(path, this.baseUrl);
    try {
      return await fetch(url, {
        ...init,
        headers: this.headers((init.headers as Record<string, string>) ?? {}),
      });
    } catch (error) {
      throw new RunboxError(
        'ServerUnavailable',
        `cannot reach the runbox server at ${this.baseUrl} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); ` +
          'start it with `runbox serve` or point --server / RUNBOX_SERVER at it',
        { field: 'server', cause: error },
      );
    }
  }

  /** fetch() that turns a non-2xx answer into the RunboxError the server described. */
  async fetchOk(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await this.fetch(path, init);
    if (!response.ok) {
      const text = await response.text();
      throw errorFromBody(response.status, parseJson(text), text);
    }
    return response;
  }

  /** JSON request; a non-2xx answer becomes the RunboxError the server described. */
  async json<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await this.fetchOk(path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: parseJson(await response.text()) as T };
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export function errorFromBody(status: number, parsed: unknown, text: string): RunboxError {
  const error = (
    parsed as { error?: { type?: string; message?: string; field?: string | null } } | null
  )?.error;
  if (error?.type && error.message) {
    return new RunboxError(error.type as ErrorType, error.message, { field: error.field ?? null });
  }
  return new RunboxError('Internal', `server answered ${status}: ${text.slice(0, 200)}`);
}
