import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunboxError } from './errors/index.js';
import type { RunboxMetrics } from './metrics.js';
import { hostAllowed, hostName } from './api/hostCheck.js';

const LOOPBACK = { host: '127.0.0.1', allowedHosts: [] };

/**
 * A listen that failed for a reason the operator fixes (the port taken by another runbox
 * or program, a port or address not allowed here) as InvalidConfig naming the setting
 * (exit 78), not Internal (exit 70): a second installation started on the first one's
 * port was told "Internal: listen EADDRINUSE".
 */
export function listenError(error: unknown, field: string, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const why: Record<string, string> = {
    EADDRINUSE: 'is in use (another runbox, or another program); pick another',
    EACCES: 'needs privileges this process lacks (ports below 1024); pick one above 1023',
    EADDRNOTAVAIL: 'is not an address of this machine',
  };
  if (typeof code !== 'string' || !(code in why)) return error;
  return new RunboxError('InvalidConfig', `${field}: ${host}:${port} ${why[code]}`, {
    field,
    cause: error,
  });
}

/**
 * GET /metrics for a process with no API (`runbox worker --metrics-port N`), so
 * Prometheus can scrape its counters beside the server's. Loopback only: it has no
 * token check, and what it shows is for an agent on the same machine.
 */
export async function serveMetrics(
  metrics: RunboxMetrics,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    // Loopback is no wall against a web page: one whose name it re-points at 127.0.0.1
    // (DNS rebinding) reads whatever answers there as its own. Only loopback names are
    // served, as the API does (hostCheck.ts).
    const host = request.headers.host;
    const name = host === undefined ? null : hostName(host);
    if (host !== undefined && (name === null || !hostAllowed(name, LOOPBACK))) {
      response
        .writeHead(421, { 'content-type': 'text/plain' })
        .end('only 127.0.0.1 or localhost here\n');
      return;
    }
    if (request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    // The path is right and the method is not: 405 with Allow, as the API answers it.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' })
        .end('only GET /metrics here\n');
      return;
    }
    metrics.text().then(
      (text) =>
        // Node sends no body to a HEAD; the length says what a GET would get.
        response
          .writeHead(200, {
            'content-type': metrics.contentType,
            'content-length': Buffer.byteLength(text),
          })
          .end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RunboxError('InvalidConfig', `metrics-port: ${port} is not a TCP port (0-65535)`, {
      field: 'metrics-port',
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, 'metrics-port', '127.0.0.1', port)));
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
