import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** The relay's own port on 127.0.0.1. */
  port: number;
  /** http://127.0.0.1:PORT, for an HTTP server behind the relay. */
  endpoint: string;
  /** Drops every connection and stops listening: new ones are refused, as by a server that is down. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

/**
 * A TCP relay to `target` (its hostname and port) that can be taken down and brought
 * back on its port: a server (S3, PostgreSQL) going away and coming back, without
 * touching the server itself, which other tests share.
 */
export async function tcpRelay(
  target: URL,
  options: {
    /** Drops a connection once it has carried more than this many bytes to the client: an answer cut mid-body. */
    cutAfterBytes?: number;
  } = {},
): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        let carried = 0;
        upstream.on('data', (chunk: Buffer) => {
          carried += chunk.length;
          client.write(chunk);
          if (options.cutAfterBytes !== undefined && carried > options.cutAfterBytes) {
            client.destroy();
            upstream.destroy();
          }
        });
        upstream.on('end', () => client.end());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    async down() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    up: listen,
  };
}
