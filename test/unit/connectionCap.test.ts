import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { capConnections, connectionCap, openFilesLimit } from '../../src/api/connectionCap.js';
import { createLogger } from '../../src/log.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max open files            1024                 524288               files
`;

describe('connectionCap', () => {
  it("takes the setting, or half the open-files limit for 'auto'", () => {
    expect(openFilesLimit(() => LIMITS)).toBe(1024);
    expect(openFilesLimit(() => 'Max open files  unlimited  unlimited  files\n')).toBeNull();
    expect(
      openFilesLimit(() => {
        throw new Error('no /proc');
      }),
    ).toBeNull();
    expect(connectionCap('auto', 1024)).toBe(512);
    expect(connectionCap('auto', 20)).toBe(16);
    expect(connectionCap('auto', null)).toBe(10_000);
    expect(connectionCap(3, 1024)).toBe(3);
    // This process's own limit, read from /proc on Linux.
    expect(openFilesLimit()).toBeGreaterThan(0);
  });
});

describe('capConnections', () => {
  const sockets: Socket[] = [];
  const server = createServer((_req, res) => res.end('ok'));
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  it('closes connections past the cap, keeps serving the ones it holds, and says so once a minute', async () => {
    const lines: Array<Record<string, unknown>> = [];
    capConnections(
      server,
      3,
      createLogger('info', (line) => lines.push(JSON.parse(line))),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const closed: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      const index = i;
      socket.on('error', () => {});
      socket.on('close', () => (closed[index] = true));
      await new Promise((resolve) => socket.once('connect', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed.slice(0, 3).some(Boolean)).toBe(false);
    expect(closed.slice(3)).toEqual([true, true, true]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', limit: 3, refused: 1 });

    // A held connection is answered; once one goes, a new client gets in.
    sockets[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await new Promise<string>((resolve, reject) => {
      request({ port, host: '127.0.0.1', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(answer).toBe('ok');
  });
});
