import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RunboxError } from '../../src/errors/index.js';
import { markWorker } from '../../src/nodes/dataDirWorkers.js';
import { RemoteLogs, type LogOwner } from '../../src/nodes/remoteLogs.js';
import type { WorkerRecord } from '../../src/queue/types.js';

/*
 * The proxy's edges against real sockets: a node that refuses, one that never accepts,
 * one with another token, and a copy the database says to stop. The whole path through
 * three real `runbox serve` nodes is test/integration/postgres.serve.test.ts.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** The asking node's data dir, where workers sharing it leave their marks. */
const marks = mkdtempSync(join(tmpdir(), 'runbox-remotelogs-'));
afterAll(() => rmSync(marks, { recursive: true, force: true }));

async function node(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function worker(id: string, address: string | null, alive = true): WorkerRecord {
  return {
    id,
    host: 'h',
    pid: 1,
    version: 'v',
    contract: { name: 'c', version: '1', fingerprint: 'f' },
    startedAt: 0,
    lastHeartbeatAt: 0,
    stoppedAt: null,
    lost: false,
    alive,
    queues: { default: 2 },
    address,
  };
}

const attempt = { jobId: 'J1', attempt: 2, stream: 'stdout' as const, from: 7, follow: true };

async function failure(promise: Promise<unknown>): Promise<RunboxError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunboxError);
  return error as RunboxError;
}

describe('RemoteLogs: following a log on the node that runs the job', () => {
  it('finds the owning node in the registry, and leaves this node and address-less workers alone', async () => {
    const remote = new RemoteLogs({
      workers: async () => [
        worker('w-self', 'http://10.0.0.1:7070'),
        worker('w-c', 'http://10.0.0.3:7070', false),
        worker('w-bare', null),
      ],
      self: () => 'http://10.0.0.1:7070',
      token: null,
      host: 'a',
      dataDir: marks,
    });
    expect(await remote.ownerOf({ status: 'running', worker_id: 'w-c' })).toEqual({
      workerId: 'w-c',
      address: 'http://10.0.0.3:7070',
      alive: false,
    });
    expect(await remote.ownerOf({ status: 'running', worker_id: 'w-self' })).toBeNull();
    expect(await remote.ownerOf({ status: 'running', worker_id: 'w-bare' })).toBeNull();
    expect(await remote.ownerOf({ status: 'running', worker_id: 'w-gone' })).toBeNull();
    expect(await remote.ownerOf({ status: 'succeeded', worker_id: null })).toBeNull();
  });

  it('names a live address-less worker that does not share this data dir as one nobody can ask, and no other', async () => {
    const here = { ...worker('w-here', null), host: 'a' };
    // On this machine but with a data dir of its own: its live files are not here.
    const beside = { ...worker('w-beside', null), host: 'a' };
    await markWorker(marks, 'w-here');
    const remote = new RemoteLogs({
      workers: async () => [worker('w-bare', null), worker('w-dead', null, false), here, beside],
      self: () => null,
      token: null,
      host: 'a',
      dataDir: marks,
    });
    const running = (id: string) => ({ status: 'running', worker_id: id });
    expect((await remote.unaddressedOwnerOf(running('w-bare')))?.id).toBe('w-bare');
    expect(await remote.unaddressedOwnerOf(running('w-dead'))).toBeNull();
    expect(await remote.unaddressedOwnerOf(running('w-here'))).toBeNull();
    expect((await remote.unaddressedOwnerOf(running('w-beside')))?.id).toBe('w-beside');
    expect(await remote.unaddressedOwnerOf({ status: 'queued', worker_id: null })).toBeNull();
  });

  it('asks for one attempt from a byte offset, sending the shared token, and copies bytes untouched', async () => {
    const bytes = Buffer.concat([Buffer.from('é✓'), Buffer.from([0xff, 0x00, 0xc3])]);
    let seen: { url?: string | undefined; auth?: string | undefined } = {};
    const address = await node((req, res) => {
      seen = { url: req.url, auth: req.headers.authorization };
      res.writeHead(200);
      res.end(bytes);
    });
    const remote = new RemoteLogs({
      workers: async () => [],
      self: () => null,
      token: 's3cret',
      host: 'a',
      dataDir: marks,
    });
    const owner: LogOwner = { workerId: 'w-c', address, alive: true };
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (c: Buffer) => parts.push(c));
    const copied = await remote.copy(await remote.open(owner, attempt), out, async () => true);
    expect(seen.url).toBe('/v1/jobs/J1/attempts/2/live-log?stream=stdout&from=7&follow=true');
    expect(seen.auth).toBe('Bearer s3cret');
    expect(copied).toBe(bytes.length);
    expect(Buffer.concat(parts)).toEqual(bytes);
  });

  it('a node that refuses connections, or another token, is NodeUnreachable at once', async () => {
    const closed = await node(() => undefined);
    const port = new URL(closed).port;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const remote = new RemoteLogs({
      workers: async () => [],
      self: () => null,
      token: 't',
      host: 'a',
      dataDir: marks,
    });
    const refused = await failure(
      remote.open({ workerId: 'w-c', address: `http://127.0.0.1:${port}`, alive: true }, attempt),
    );
    expect(refused).toMatchObject({ type: 'NodeUnreachable', field: 'worker_id' });
    expect(refused.message).toMatch(/w-c.*does not answer/);
    const wrongToken = await node((_req, res) => {
      res.writeHead(401);
      res.end('{}');
    });
    const denied = await failure(
      remote.open({ workerId: 'w-c', address: wrongToken, alive: true }, attempt),
    );
    expect(denied.message).toMatch(/answered 401 \(every node needs the same token\)/);
  });

  it('a node that never accepts the connection is given up after 3 s, not waited for', async () => {
    // A TEST-NET-1 address (RFC 5737): routed nowhere, so the connect never completes
    // (or the network says so at once).
    const remote = new RemoteLogs({
      workers: async () => [],
      self: () => null,
      token: null,
      host: 'a',
      dataDir: marks,
    });
    const started = Date.now();
    const error = await failure(
      remote.open({ workerId: 'w-c', address: 'http://192.0.2.1:7070', alive: true }, attempt),
    );
    expect(error.type).toBe('NodeUnreachable');
    expect(Date.now() - started).toBeLessThan(4500);
  }, 10_000);

  it('a follow whose node connects but never answers ends once the database says the attempt moved', async () => {
    // A node that accepts and then says nothing (stopped, or its host gone quiet).
    const address = await node(() => undefined);
    const remote = new RemoteLogs({
      workers: async () => [],
      self: () => null,
      token: null,
      host: 'a',
      dataDir: marks,
    });
    let held = true;
    setTimeout(() => (held = false), 300);
    const started = Date.now();
    const error = await failure(
      remote.open({ workerId: 'w-c', address, alive: true }, attempt, async () => held),
    );
    expect(error.message).toMatch(/no longer runs that attempt/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops copying a live log the database says no longer runs there, keeping the exact count', async () => {
    const address = await node((_req, res) => {
      res.writeHead(200);
      res.write('first ✓\n');
      // ...and then nothing more: a node that hangs, or an attempt that moved.
    });
    const remote = new RemoteLogs({
      workers: async () => [],
      self: () => null,
      token: null,
      host: 'a',
      dataDir: marks,
    });
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (c: Buffer) => parts.push(c));
    let held = true;
    setTimeout(() => (held = false), 300);
    const started = Date.now();
    const body = await remote.open({ workerId: 'w-c', address, alive: true }, attempt);
    const copied = await remote.copy(body, out, async () => held);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(Buffer.concat(parts).toString()).toBe('first ✓\n');
    expect(copied).toBe(Buffer.byteLength('first ✓\n'));
  });
});
