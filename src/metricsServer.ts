import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunboxMetrics } from './metrics.js';

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
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
