/**
 * A small typed client for the runbox HTTP API: the types are generated from the
 * server's OpenAPI document (schema.d.ts), the calls go through openapi-fetch, and
 * this file adds only the token, errors as exceptions and waiting for a job.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type Job = components['schemas']['Job'];
export type JobList = components['schemas']['JobList'];
export type JobStatus = components['schemas']['JobStatus'];
export type SubmitRequest = components['schemas']['SubmitRequest'];
export type OutputManifest = components['schemas']['OutputManifest'];
export type ApiErrorBody = components['schemas']['Error'];
/** Every stable `error.type` the API answers with: switch over it exhaustively. */
export type ApiErrorType = components['schemas']['ErrorType'];

const FINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Any answer that is not a 2xx: the status and runbox's error body (type, message, field, request_id). */
export class RunboxApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | undefined,
  ) {
    super(
      body
        ? `${status} ${body.error.type}: ${body.error.message} (request ${body.error.request_id})`
        : `HTTP ${status}`,
    );
    this.name = 'RunboxApiError';
  }

  get type(): string | undefined {
    return this.body?.error.type;
  }
}

export interface RunboxClientOptions {
  /** e.g. http://127.0.0.1:7070 */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` (RUNBOX_TOKEN of the server). */
  token?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
}

/**
 * runbox's error body, or undefined for any other answer: a reverse proxy in front of
 * runbox answers its own errors (an HTML 502, a JSON body of another shape), and taking
 * those for runbox's threw a TypeError instead of RunboxApiError.
 */
function errorBodyOf(value: unknown): ApiErrorBody | undefined {
  const error: unknown =
    typeof value === 'object' && value !== null && 'error' in value ? value.error : null;
  return typeof error === 'object' &&
    error !== null &&
    'type' in error &&
    typeof error.type === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
    ? (value as ApiErrorBody)
    : undefined;
}

/** The data of a 2xx answer (openapi-fetch leaves it undefined for an empty body). */
function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T | undefined {
  if (answer.response.ok) return answer.data;
  throw new RunboxApiError(answer.response.status, errorBodyOf(answer.error));
}

/** A JSON answer: a 2xx without its body breaks the API's contract. */
function json<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  const data = unwrap(answer);
  if (data === undefined) throw new RunboxApiError(answer.response.status, undefined);
  return data;
}

export function createRunboxClient(options: RunboxClientOptions) {
  const api: Client<paths> = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  if (options.token) {
    const header = `Bearer ${options.token}`;
    api.use({
      onRequest({ request }) {
        request.headers.set('authorization', header);
        return request;
      },
    });
  }
  const id = (jobId: string) => ({ params: { path: { id: jobId } } });

  return {
    /** The typed openapi-fetch client, for anything the helpers below do not cover. */
    api,
    async submit(job: SubmitRequest, wait?: { seconds?: number }): Promise<Job> {
      const query = wait ? { wait: true, wait_seconds: wait.seconds ?? 60 } : {};
      return json(await api.POST('/v1/jobs', { body: job, params: { query } }));
    },
    async get(jobId: string): Promise<Job> {
      return json(await api.GET('/v1/jobs/{id}', id(jobId)));
    },
    /** Resolves with the job once it is final; each request waits up to 60 s on the server. */
    async wait(jobId: string, timeoutSeconds = Number.POSITIVE_INFINITY): Promise<Job> {
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const seconds = Math.max(0, Math.min(60, (deadline - Date.now()) / 1000));
        const job = json(
          await api.GET('/v1/jobs/{id}', {
            params: { path: { id: jobId }, query: { wait: true, wait_seconds: seconds } },
          }),
        );
        if (FINAL.has(job.status) || Date.now() >= deadline) return job;
      }
    },
    async list(query: { status?: JobStatus; limit?: number; cursor?: string } = {}) {
      return json(await api.GET('/v1/jobs', { params: { query } }));
    },
    /** 409 (RunboxApiError, type Conflict) when the job has already ended. */
    async cancel(jobId: string): Promise<Job> {
      return json(await api.POST('/v1/jobs/{id}/cancel', id(jobId)));
    },
    /** The log as text (lossy where the job wrote invalid UTF-8; use `api` with parseAs 'arrayBuffer' for bytes). */
    async logs(jobId: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
      const text = unwrap(
        await api.GET('/v1/jobs/{id}/logs', {
          params: { path: { id: jobId }, query: { stream } },
          parseAs: 'text',
        }),
      );
      return text ?? '';
    },
    async outputs(jobId: string): Promise<OutputManifest> {
      return json(await api.GET('/v1/jobs/{id}/outputs', id(jobId)));
    },
    /** One output file's bytes, decompressed. */
    async outputFile(jobId: string, path: string): Promise<Uint8Array> {
      const buffer = unwrap(
        await api.GET('/v1/jobs/{id}/outputs/{path}', {
          params: { path: { id: jobId, path } },
          parseAs: 'arrayBuffer',
        }),
      );
      return new Uint8Array(buffer ?? new ArrayBuffer(0));
    },
  };
}

export type RunboxClient = ReturnType<typeof createRunboxClient>;
