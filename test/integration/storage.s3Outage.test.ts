import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunboxError } from '../../src/errors/index.js';
import { FileBlobStore } from '../../src/storage/fs/FileBlobStore.js';
import { S3BlobStore } from '../../src/storage/s3/S3BlobStore.js';
import {
  createS3Client,
  createS3ReadClient,
  type S3Endpoint,
} from '../../src/storage/s3/s3Client.js';
import { isUnanswered } from '../../src/storage/s3/s3Errors.js';
import { selectZstdCodec } from '../../src/storage/zstd/selectCodec.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  freshBucket,
  listKeys,
  startBucketPair,
  testS3,
  testS3Client,
} from '../helpers/s3Server.js';
import type { RunboxProcess } from '../helpers/serverProcess.js';
import { tcpRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import { http, runbox, shellJob, submit, waitFinal } from './outputsKit.js';

/**
 * The S3 server down for a while, played by a TCP relay in front of the test's s3rver
 * that stops listening (connections refused, as when the server is down) and listens
 * again on the same port. Seen on a fleet: a job that finished while S3 was down failed
 * for good within seconds (every attempt's upload refused at once), and a node asked for
 * a stored log answered a bare 500 (FST_ERR_REP_INVALID_PAYLOAD_TYPE).
 */

const FRAME = 1024 * 1024;

describe('S3 down for a while: nothing lost, clear errors, recovery', () => {
  let client: S3Client;
  let bucket: string;
  let removeBucket: () => Promise<void>;
  let gate: TcpRelay;
  let codec: Awaited<ReturnType<typeof selectZstdCodec>>;
  const dirs: string[] = [];

  function storeThroughGate(
    options: { unansweredPatienceMs?: number; cacheMaxBytes?: number },
    endpoint = gate.endpoint,
    timeouts?: S3Endpoint['timeouts'],
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-s3-outage-'));
    dirs.push(dir);
    const { credentials } = testS3();
    const settings = { endpoint, credentials, ...(timeouts && { timeouts }) };
    return new S3BlobStore({
      client: createS3Client(settings),
      readClient: createS3ReadClient(settings),
      bucket,
      cache: new FileBlobStore({ dataDir: dir, codec, frameBytes: FRAME }),
      frameBytes: FRAME,
      conditionalPut: false,
      endpoint,
      ...options,
    });
  }

  beforeAll(async () => {
    client = testS3Client();
    ({ bucket, remove: removeBucket } = await freshBucket(client));
    gate = await tcpRelay(new URL(testS3().endpoint));
    codec = await selectZstdCodec({ codec: 'auto', level: 3, frameBytes: FRAME });
  });

  afterAll(async () => {
    await gate?.down().catch(() => undefined);
    await removeBucket?.();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a batch committed while S3 refuses connections waits for it and stores the blob once it is back', async () => {
    const store = storeThroughGate({});
    await gate.down();
    const batch = store.beginBatch();
    const stored = (async () => {
      const blob = await store.put(Buffer.from('outputs kept through an outage\n'), { batch });
      await batch.commit();
      return blob;
    })();
    let settled = false;
    void stored.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(settled).toBe(false);
    await gate.up();
    const { sha256 } = await stored;
    expect(await listKeys(client, bucket)).toContain(`blobs/${sha256}`);
  });

  it('gives up after unansweredPatienceMs with an error naming the bucket and blobs.endpoint', async () => {
    const store = storeThroughGate({ unansweredPatienceMs: 1000 });
    await gate.down();
    try {
      const error = await store.put(Buffer.from('never stored')).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(RunboxError);
      expect(error).toMatchObject({ type: 'Internal', field: 'blobs.endpoint' });
      expect((error as Error).message).toContain(`bucket ${bucket}`);
      expect((error as Error).message).toContain(`blobs.endpoint ${gate.endpoint}`);
      expect((error as Error).message).toContain('ECONNREFUSED');
    } finally {
      await gate.up();
    }
  });

  it('a batch begun after its run was stopped stores while S3 answers, and gives S3 one try when it does not', async () => {
    const store = storeThroughGate({});
    const controller = new AbortController();
    controller.abort('cancel');
    const kept = store.beginBatch(controller.signal);
    const { sha256 } = await store.put(Buffer.from('the log of a cancelled job\n'), {
      batch: kept,
    });
    await kept.commit();
    expect(await listKeys(client, bucket)).toContain(`blobs/${sha256}`);

    await gate.down();
    try {
      const lost = store.beginBatch(controller.signal);
      const startedAt = Date.now();
      const error = await store
        .put(Buffer.from('cancelled while S3 is down'), { batch: lost })
        .then(
          () => null,
          (thrown: unknown) => thrown,
        );
      expect(Date.now() - startedAt).toBeLessThan(1500);
      expect(error).toMatchObject({ type: 'Cancelled', field: 'blobs.endpoint' });
      await lost.discard();
    } finally {
      await gate.up();
    }
  });

  it("stops waiting once the batch's signal aborts (a cancel), without waiting out the patience", async () => {
    const store = storeThroughGate({});
    await gate.down();
    try {
      const controller = new AbortController();
      const batch = store.beginBatch(controller.signal);
      const stored = store.put(Buffer.from('cancelled while S3 is down'), { batch });
      const settled = stored.then(
        () => null,
        (thrown: unknown) => thrown,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const abortedAt = Date.now();
      controller.abort('cancel');
      const error = await settled;
      expect(Date.now() - abortedAt).toBeLessThan(1500);
      expect(error).toMatchObject({ type: 'Cancelled', field: 'blobs.endpoint' });
      expect((error as Error).message).toContain('the run was stopped (cancel)');
      await batch.discard();
    } finally {
      await gate.up();
    }
  });

  it('a read S3 does not answer is StorageUnavailable (503, exit 69), naming the store', async () => {
    const writer = storeThroughGate({});
    const { sha256 } = await writer.put(Buffer.from('read me later\n'));
    const reader = storeThroughGate({ cacheMaxBytes: 0 });
    await gate.down();
    try {
      for (const read of [
        () => reader.openDecompressed(sha256),
        () => reader.openCompressed(sha256),
        () => reader.stat(sha256),
      ]) {
        const error = await read().then(
          () => null,
          (thrown: unknown) => thrown,
        );
        expect(error).toMatchObject({ type: 'StorageUnavailable', field: 'blobs.endpoint' });
        expect((error as Error).message).toContain(`bucket ${bucket}`);
      }
    } finally {
      await gate.up();
    }
  });

  describe('S3 that accepts connections and never answers (hung, or black-holed)', () => {
    let silent: Server;
    let endpoint: string;
    const held = new Set<Socket>();

    beforeAll(async () => {
      silent = createServer((socket) => {
        held.add(socket);
        socket.on('close', () => held.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('a client waits a bounded time for a silent socket by default', async () => {
      const { endpoint: real, credentials } = testS3();
      const client = createS3Client({ endpoint: real, credentials });
      // The SDK's NodeHttpHandler resolves its settings at the first request, then states them.
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      const handler = client.config.requestHandler as unknown as {
        httpHandlerConfigs(): { socketTimeout?: number; connectionTimeout?: number };
      };
      const { socketTimeout, connectionTimeout } = handler.httpHandlerConfigs();
      expect(socketTimeout).toBeGreaterThan(0);
      expect(socketTimeout).toBeLessThanOrEqual(60_000);
      expect(connectionTimeout).toBeGreaterThan(0);
      client.destroy();
    });

    it('an upload gives up after unansweredPatienceMs, naming blobs.endpoint, instead of hanging', async () => {
      const store = storeThroughGate({ unansweredPatienceMs: 1000 }, endpoint, {
        connectMs: 1000,
        idleMs: 300,
      });
      const started = Date.now();
      const error = await store.put(Buffer.from('never stored')).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toMatchObject({ type: 'Internal', field: 'blobs.endpoint' });
      expect((error as Error).message).toContain(`blobs.endpoint ${endpoint}`);
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('a cancel ends a request S3 leaves hanging at once, not at the idle limit', async () => {
      const store = storeThroughGate({}, endpoint, { connectMs: 1000, idleMs: 60_000 });
      const controller = new AbortController();
      const batch = store.beginBatch(controller.signal);
      const settled = store.put(Buffer.from('cancelled while S3 hangs'), { batch }).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const abortedAt = Date.now();
      controller.abort('cancel');
      const error = await settled;
      expect(Date.now() - abortedAt).toBeLessThan(1500);
      expect(error).toMatchObject({ type: 'Cancelled', field: 'blobs.endpoint' });
      await batch.discard();
    });

    it('a GET whose answer never begins fails as unanswered (the read client)', async () => {
      const client = createS3ReadClient({
        endpoint,
        credentials: testS3().credentials,
        timeouts: { connectMs: 1000, idleMs: 300 },
      });
      const started = Date.now();
      const error = await client
        .send(new GetObjectCommand({ Bucket: bucket, Key: 'blobs/never' }))
        .then(
          () => null,
          (thrown: unknown) => thrown,
        );
      expect(isUnanswered(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
      client.destroy();
    });

    it('a read is StorageUnavailable instead of an answer that never comes', async () => {
      const reader = storeThroughGate({ cacheMaxBytes: 0 }, endpoint, {
        connectMs: 1000,
        idleMs: 300,
      });
      const error = await reader.stat('0'.repeat(64)).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toMatchObject({ type: 'StorageUnavailable', field: 'blobs.endpoint' });
    });
  });

  it('a download whose reader pauses longer than the idle limit arrives whole', async () => {
    const timeouts = { connectMs: 1000, idleMs: 300 };
    const writer = storeThroughGate({}, gate.endpoint, timeouts);
    const bytes = randomBytes(32 * 1024 * 1024);
    const { sha256 } = await writer.put(bytes);
    const reader = storeThroughGate({ cacheMaxBytes: 0 }, gate.endpoint, timeouts);
    const body = await reader.openDecompressed(sha256);
    const hash = createHash('sha256');
    let paused = false;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      if (!paused) {
        paused = true;
        // Backpressure: S3's socket goes silent while nobody reads.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
    expect(hash.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  describe('through runbox serve', () => {
    let nodeA: RunboxProcess;
    let nodeB: RunboxProcess;

    beforeAll(async () => {
      ({ nodeA, nodeB } = await startBucketPair(gate.endpoint, bucket, 'fleet', dirs));
    });

    afterEach(() => expectNoLeftoverContainers(TEST_INSTANCE));

    afterAll(async () => {
      for (const node of [nodeA, nodeB]) {
        if (!node) continue;
        node.kill('SIGTERM');
        await node.exited;
      }
    });

    it('a job that ends while S3 is down succeeds on its first attempt once S3 is back; reads meanwhile answer 503 StorageUnavailable', async () => {
      await gate.down();
      let id: string;
      try {
        id = await submit(
          nodeA.url,
          shellJob('printf "kept ✓\\n"; printf "\\000\\377" > "$RUNBOX_OUTPUTS/b.bin"'),
        );
        // Longer than every attempt took to fail before: the job must still be waiting.
        await new Promise((resolve) => setTimeout(resolve, 6000));
        const waiting = await waitFinal(nodeA.url, id, 1).catch(() => null);
        expect(waiting).toBeNull();
      } finally {
        await gate.up();
      }
      const job = await waitFinal(nodeA.url, id);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      expect(job.attempts).toBe(1);

      await gate.down();
      try {
        const answer = await http(`${nodeB.url}/v1/jobs/${id}/logs`);
        expect(answer.status).toBe(503);
        const body = JSON.parse(answer.body.toString()) as { error: { type: string } };
        expect(body.error.type).toBe('StorageUnavailable');
        const output = await http(`${nodeB.url}/v1/jobs/${id}/outputs/b.bin`);
        expect(output.status).toBe(503);
        const cli = await runbox(nodeB.url, ['logs', id]);
        expect(cli.code).toBe(69);
        expect(cli.stderr).toContain('StorageUnavailable');
      } finally {
        await gate.up();
      }
      const log = await http(`${nodeB.url}/v1/jobs/${id}/logs`);
      expect(log.status).toBe(200);
      expect(log.body.toString()).toBe('kept ✓\n');
      const output = await http(`${nodeB.url}/v1/jobs/${id}/outputs/b.bin`);
      expect(output.body).toEqual(Buffer.from([0, 255]));
    }, 120_000);

    it('a cancel sent to another node ends a job waiting for S3 at once', async () => {
      await gate.down();
      try {
        const id = await submit(nodeA.url, shellJob('echo waiting for S3'));
        await new Promise((resolve) => setTimeout(resolve, 4000));
        expect((await waitFinal(nodeA.url, id, 1).catch(() => null))?.status).toBeUndefined();
        const cancel = await http(`${nodeB.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
        expect(cancel.status).toBeLessThan(300);
        const job = await waitFinal(nodeB.url, id, 15_000);
        expect(job.status).toBe('cancelled');
        expect(job.attempts).toBe(1);
        expect(job.error?.type).toBe('Cancelled');
      } finally {
        await gate.up();
      }
    }, 60_000);
  });
});
