import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunboxClient, RunboxApiError } from '../../clients/typescript/src/index.js';

/**
 * The generated client behind what sits in front of a runbox: a reverse proxy answers
 * its own errors (an HTML 502 while runbox restarts, a JSON body of its own shape).
 * The client threw "TypeError: Cannot read properties of undefined (reading 'type')"
 * from RunboxApiError's constructor for both, instead of the RunboxApiError it documents.
 */
describe('the TypeScript client given answers that are not runbox error bodies', () => {
  let server: Server | undefined;
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running) return;
    running.closeAllConnections();
    await new Promise((resolve) => running.close(resolve));
  };
  afterEach(stop);

  const proxy = async (status: number, type: string, body: string) => {
    server = createServer((_request, response) => {
      response.writeHead(status, { 'content-type': type }).end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return createRunboxClient({ baseUrl: `http://127.0.0.1:${port}` });
  };

  it('throws RunboxApiError with the status, and no body, for a proxy error page or JSON of another shape', async () => {
    const answers: [number, string, string][] = [
      [502, 'text/html', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
      [503, 'application/json', '{"error":"Service Unavailable","statusCode":503}'],
      [504, 'application/json', '{"message":"upstream timed out"}'],
      [500, 'application/json', 'null'],
    ];
    for (const [status, type, body] of answers) {
      const client = await proxy(status, type, body);
      const thrown = await client
        .get('01M8R90MJSBESJRPMMHEZARSWE')
        .catch((error: unknown) => error);
      expect(thrown, body).toBeInstanceOf(RunboxApiError);
      const error = thrown as RunboxApiError;
      expect(error.status).toBe(status);
      expect(error.body).toBeUndefined();
      expect(error.type).toBeUndefined();
      expect(error.message).toBe(`HTTP ${status}`);
      await stop();
    }
  });

  it('keeps runbox’s own error body', async () => {
    const client = await proxy(
      404,
      'application/json',
      '{"error":{"type":"NotFound","message":"no job x","field":"id","request_id":"r1"}}',
    );
    const error = (await client.get('x').catch((e: unknown) => e)) as RunboxApiError;
    expect(error).toBeInstanceOf(RunboxApiError);
    expect(error.type).toBe('NotFound');
    expect(error.message).toBe('404 NotFound: no job x (request r1)');
  });
});
