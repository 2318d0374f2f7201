/**
 * The dashboard is a client of the public /v1 API, nothing more. Paths are relative,
 * so the page also works behind a proxy that mounts runbox under a prefix. The session
 * cookie goes with every request (same origin); the browser adds the Origin header to
 * state-changing ones, which the server checks.
 */

export class LoginNeeded extends Error {
  constructor() {
    super('log in with the token');
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** Retry-After of a 429, in seconds. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

async function failure(answer: Response): Promise<Error> {
  if (answer.status === 401) return new LoginNeeded();
  const wait = Number(answer.headers.get('retry-after') ?? NaN);
  const retryAfter = Number.isFinite(wait) ? wait : null;
  try {
    const body = (await answer.json()) as { error?: { type?: string; message?: string } };
    return new ApiError(
      answer.status,
      body.error?.type ?? 'Error',
      body.error?.message ?? answer.statusText,
      retryAfter,
    );
  } catch {
    return new ApiError(answer.status, 'Error', answer.statusText, retryAfter);
  }
}

export async function request(
  path: string,
  init: RequestInit = {},
  signal?: AbortSignal,
): Promise<Response> {
  const answer = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { accept: 'application/json', ...(init.headers ?? {}) },
    ...(signal ? { signal } : {}),
  });
  if (!answer.ok) throw await failure(answer);
  return answer;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await request(path, {}, signal)).json() as Promise<T>;
}

export async function postJson<T>(path: string, body?: unknown): Promise<T | null> {
  const answer = await request(path, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return answer.status === 204 ? null : ((await answer.json()) as T);
}

export async function login(token: string): Promise<void> {
  await postJson('v1/session', { token });
}

export async function logout(): Promise<void> {
  await request('v1/session', { method: 'DELETE' });
}

/** A job's URL part: ids are plain ([0-9A-Za-z_-]), but never trust that in a URL. */
export const jobPath = (id: string) => `v1/jobs/${encodeURIComponent(id)}`;

/** An output file's download URL: each path segment encoded, slashes kept. */
export const outputUrl = (id: string, path: string) =>
  `${jobPath(id)}/outputs/${path.split('/').map(encodeURIComponent).join('/')}`;
