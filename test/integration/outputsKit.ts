import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../src/config.js';
import type { JobView } from '../../src/api/jobView.js';
import {
  runCliProcess,
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';

/**
 * Shared by the outputs*.test.ts files (issue 4): a real `runbox serve` process over a
 * temp data dir, raw HTTP (node:http, so no client decodes Content-Encoding for us),
 * and the zstd CLI as the independent decoder.
 */

export interface OutputsServer {
  server: RunboxProcess;
  url: string;
  dataDir: string;
  /** Stops the server (SIGTERM, then waits) and removes the data dir. */
  stop(): Promise<void>;
}

export async function startOutputsServer(
  prefix: string,
  overrides: ConfigOverrides = {},
): Promise<OutputsServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `runbox-${prefix}-`));
  const configFile = writeTestConfig(dataDir, overrides);
  let server: RunboxProcess;
  try {
    server = await startServerProcess({ dataDir, configFile, workers: 1 });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    url: server.url,
    dataDir,
    stop: async () => {
      server.kill('SIGTERM');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request, body buffered (small answers only). */
export function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawResponse> {
  return streamHttp(url, options, async (response) => {
    const parts: Buffer[] = [];
    for await (const chunk of response) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }).then(({ status, headers, result }) => ({ status, headers, body: result }));
}

/** One request whose body `consume` reads as it streams. */
export function streamHttp<T>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown },
  consume: (response: IncomingMessage) => Promise<T>,
): Promise<{ status: number; headers: IncomingHttpHeaders; result: T }> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  // The path goes out exactly as written: new URL() would resolve "../" and "%2e%2e/".
  const match = /^(https?:\/\/[^/]+)(\/.*)?$/.exec(url);
  if (!match) throw new Error(`not an http URL: ${url}`);
  const origin = new URL(match[1]!);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: origin.hostname,
        port: origin.port,
        path: match[2] ?? '/',
        method: options.method ?? 'GET',
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (response) => {
        consume(response).then(
          (result) => resolve({ status: response.statusCode!, headers: response.headers, result }),
          reject,
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** sha256 and length of a response body, hashed as it streams (never buffered whole). */
export async function hashBody(response: AsyncIterable<unknown>) {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export async function submit(url: string, body: Record<string, unknown>): Promise<string> {
  const answer = await http(`${url}/v1/jobs`, { method: 'POST', body });
  if (answer.status !== 201) {
    throw new Error(`submit answered ${answer.status}: ${answer.body.toString()}`);
  }
  return (JSON.parse(answer.body.toString()) as JobView).id;
}

export async function getJob(url: string, id: string): Promise<JobView> {
  const answer = await http(`${url}/v1/jobs/${id}`);
  return JSON.parse(answer.body.toString()) as JobView;
}

export async function waitFinal(url: string, id: string, timeoutMs = 90_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(url, id);
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function shellJob(script: string, extra: Record<string, unknown> = {}) {
  return { runtime: 'shell', script: { path: 'job.sh', content: script }, ...extra };
}

export function pythonJob(script: string, extra: Record<string, unknown> = {}) {
  return { runtime: 'python:3.11', script: { path: 'job.py', content: script }, ...extra };
}

/** `runbox <args>` from the built bundle against `url`, ignoring the caller's RUNBOX_*. */
export function runbox(url: string, args: string[], timeoutMs = 60_000) {
  return runCliProcess([...args, '--server', url], {
    env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
    timeoutMs,
  });
}

export { zstdDecode } from '../helpers/zstdCli.js';
