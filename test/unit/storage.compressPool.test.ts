import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultZstdThreads, loadConfig } from '../../src/config.js';
import { RunboxError } from '../../src/errors/index.js';
import { loadZstdNapi, zstdNapiBindingPath } from '../../src/native/addons.js';
import { writeFramed } from '../../src/storage/framedBlob.js';
import { FileBlobStore } from '../../src/storage/fs/FileBlobStore.js';
import type { ZstdCodec } from '../../src/storage/zstd/codec.js';
import { CompressPool } from '../../src/storage/zstd/CompressPool.js';
import {
  FrameCompressor,
  FrameDecompressor,
  createNativeCodec,
  selectZstdCodec,
} from '../../src/storage/zstd/index.js';
import { frameContentSizes, zstdDecode } from '../helpers/zstdCli.js';

const KiB = 1024;
const FRAME = 64 * KiB;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Compressible and not: random runs between runs of text, like real outputs. */
function mixedBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from('a line of output that repeats, 0123456789 ÄÖÜ\n');
  for (let at = 0; at < size; at += 8 * KiB) {
    const piece = Math.min(8 * KiB, size - at);
    if ((at / (8 * KiB)) % 3 === 0) randomBytes(piece).copy(out, at);
    else for (let i = 0; i < piece; i++) out[at + i] = text[i % text.length]!;
  }
  return out;
}

/** `data` in pieces of random sizes (1 byte to 3 frames), so frames straddle chunks. */
function randomChunks(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      let at = 0;
      while (at < data.length) {
        const piece = 1 + Math.floor(Math.random() * 3 * FRAME);
        yield data.subarray(at, at + piece);
        at += piece;
      }
    })(),
    { objectMode: false },
  );
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/**
 * The native codec with compressFrameAsync answering after a random delay, so frames
 * finish out of order; counts how many were in flight at most.
 */
function jitteryCodec(base: ZstdCodec, threads: number, failAt = -1) {
  const stats = { inFlight: 0, maxInFlight: 0, started: 0, settled: 0 };
  const codec: ZstdCodec = {
    ...base,
    threads,
    async compressFrameAsync(pieces: readonly Uint8Array[]) {
      const input = Buffer.concat(pieces);
      const index = stats.started++;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await sleep(Math.floor(Math.random() * 8));
        if (index === failAt) throw new RunboxError('Internal', `frame ${index} failed`);
        return base.compressFrame(input);
      } finally {
        stats.inFlight -= 1;
        stats.settled += 1;
      }
    },
  };
  return { codec, stats };
}

describe('frame compression on worker threads', () => {
  let sync: ZstdCodec;
  let pool: CompressPool;
  let threaded: ZstdCodec;

  beforeAll(() => {
    const napi = loadZstdNapi();
    expect(napi, 'zstd-napi must load in the test environment').not.toBeNull();
    sync = createNativeCodec(napi!, 3);
    pool = new CompressPool({ bindingPath: zstdNapiBindingPath(), level: 3, threads: 2 });
    threaded = createNativeCodec(napi!, 3, pool);
  });

  afterAll(async () => {
    await pool.close();
  });

  async function framed(codec: ZstdCodec, data: Buffer): Promise<Buffer> {
    return collect(randomChunks(data).pipe(new FrameCompressor({ codec, frameBytes: FRAME })));
  }

  it('a worker frame is byte-for-byte the frame the synchronous codec writes', async () => {
    // One after another, so spare buffers larger than the next frame are reused.
    for (const size of [0, 1, 1000, FRAME - 1, FRAME, 3 * FRAME + 17, 5, FRAME]) {
      const input = mixedBytes(size);
      const frame = await pool.compress([input.subarray(0, 7), input.subarray(7)]);
      expect(frame.equals(sync.compressFrame(input)), `size ${size}`).toBe(true);
    }
    expect(pool.pending).toBe(0);
    expect(pool.workers).toBeLessThanOrEqual(2);
  });

  it('many frames at once, of random sizes, each come back as their own frame', async () => {
    const inputs = Array.from({ length: 40 }, () =>
      mixedBytes(Math.floor(Math.random() * 2 * FRAME)),
    );
    const frames = await Promise.all(inputs.map((input) => pool.compress([input])));
    frames.forEach((frame, i) => expect(frame.equals(sync.compressFrame(inputs[i]!))).toBe(true));
    expect(pool.pending).toBe(0);
  });

  it('the pieces may be reused as soon as compress returns (they are copied)', async () => {
    const input = mixedBytes(FRAME);
    const expected = sync.compressFrame(input);
    const pending = pool.compress([input]);
    input.fill(0);
    expect((await pending).equals(expected)).toBe(true);
  });

  const sizes = {
    empty: 0,
    'one byte': 1,
    'exactly frameBytes': FRAME,
    'frameBytes + 1': FRAME + 1,
    'many frames of random length': 37 * FRAME + Math.floor(Math.random() * FRAME),
  };
  for (const [name, size] of Object.entries(sizes)) {
    it(`${name}: threaded frames are in order, identical to the synchronous ones, and zstd -d reads them`, async () => {
      const data = mixedBytes(size);
      const expected = await framed(sync, data);
      const got = await framed(threaded, data);
      expect(got.equals(expected)).toBe(true);
      const sizesOut = frameContentSizes(got);
      expect(sizesOut.reduce((a, b) => a + b, 0)).toBe(size);
      expect(sizesOut.length).toBe(Math.max(1, Math.ceil(size / FRAME)));
      expect(sha(await zstdDecode(got))).toBe(sha(data));
      const decoded = await collect(
        Readable.from([got]).pipe(new FrameDecompressor({ codec: sync })),
      );
      expect(sha(decoded)).toBe(sha(data));
      expect(pool.pending).toBe(0);
    });
  }

  it('frames finishing out of order are still written in order, with at most 2 x threads in flight', async () => {
    const data = mixedBytes(50 * FRAME + 999);
    const { codec, stats } = jitteryCodec(sync, 3);
    const got = await framed(codec, data);
    expect(got.equals(await framed(sync, data))).toBe(true);
    expect(stats.started).toBe(51);
    expect(stats.maxInFlight).toBeGreaterThan(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(6);
  });

  it('a stream shorter than one frame never waits for a thread; one of a frame or more uses them', async () => {
    for (const [size, started] of [
      [0, 0],
      [FRAME - 1, 0],
      [FRAME, 1],
      [2 * FRAME + 1, 3],
    ] as const) {
      const { codec, stats } = jitteryCodec(sync, 2);
      const data = mixedBytes(size);
      const got = await framed(codec, data);
      expect(stats.started, `size ${size}`).toBe(started);
      expect(got.equals(await framed(sync, data))).toBe(true);
    }
  });

  it('holds input back while the window is full: a slow sink bounds what is read', async () => {
    const { codec, stats } = jitteryCodec(sync, 2);
    let produced = 0;
    const source = new Readable({
      read() {
        produced += FRAME;
        this.push(produced > 400 * FRAME ? null : randomBytes(FRAME));
      },
    });
    let consumed = 0;
    const sink = new Writable({
      highWaterMark: FRAME,
      write(chunk: Buffer, _encoding, done) {
        consumed += 1;
        setTimeout(done, 5);
      },
    });
    const done = writeFramed(source, sink, { codec, frameBytes: FRAME });
    await sleep(200);
    // Produced is bounded by what was written plus a few frames of buffers, not 400.
    expect(produced / FRAME - consumed).toBeLessThan(40);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    source.destroy();
    await done.catch(() => undefined);
  });

  it('a frame that fails fails the stream, and nothing is left pending', async () => {
    const { codec, stats } = jitteryCodec(sync, 2, 5);
    const data = mixedBytes(20 * FRAME);
    const error = await writeFramed(randomChunks(data), new PassThrough().resume(), {
      codec,
      frameBytes: FRAME,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'Internal', message: 'frame 5 failed' });
    await sleep(50);
    expect(stats.inFlight).toBe(0);
    expect(stats.started).toBeLessThanOrEqual(5 + 4 + 1);
  });

  describe('FileBlobStore with threads', () => {
    let dataDir: string;
    let store: FileBlobStore;

    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'runbox-compresspool-'));
      store = new FileBlobStore({ dataDir, codec: threaded, frameBytes: FRAME });
      mkdirSync(join(dataDir, 'blobs', 'tmp'), { recursive: true });
    });
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    const tmpFiles = () => readdirSync(join(dataDir, 'blobs', 'tmp'));

    /** The pool finishes what it had; no frame stays queued after a failed put. */
    async function poolSettles(): Promise<void> {
      for (let i = 0; i < 100 && pool.pending > 0; i++) await sleep(10);
      expect(pool.pending).toBe(0);
    }

    it('stores a multi-frame blob that the zstd CLI decodes to the same sha256', async () => {
      const data = mixedBytes(40 * FRAME + 5);
      const stored = await store.put(randomChunks(data));
      expect(stored.sha256).toBe(sha(data));
      const raw = await collect(await store.openCompressed(stored.sha256));
      expect(raw.length).toBe(stored.compressedSize);
      expect(sha(await zstdDecode(raw))).toBe(stored.sha256);
      expect(sha(await collect(await store.openDecompressed(stored.sha256)))).toBe(stored.sha256);
      expect(tmpFiles()).toEqual([]);
    });

    it('over maxBytes: OutputLimitExceeded, the source destroyed, no temp file, no pending frame', async () => {
      const source = randomChunks(mixedBytes(30 * FRAME));
      const error = await store.put(source, { maxBytes: 20 * FRAME }).catch((e: unknown) => e);
      expect(error).toMatchObject({ type: 'OutputLimitExceeded' });
      expect(source.destroyed).toBe(true);
      expect(tmpFiles()).toEqual([]);
      await poolSettles();
    });

    it('a source destroyed mid-stream: the error, no temp file, no blob, no pending frame', async () => {
      const before = readdirSync(join(dataDir, 'blobs')).sort();
      const source = new Readable({ read() {} });
      const put = store.put(source);
      for (let i = 0; i < 10; i++) source.push(mixedBytes(FRAME));
      await sleep(20);
      source.destroy(new Error('container went away'));
      await expect(put).rejects.toThrow('container went away');
      expect(tmpFiles()).toEqual([]);
      expect(readdirSync(join(dataDir, 'blobs')).sort()).toEqual(before);
      await poolSettles();
    });
  });

  it('writeFramed gives frame buffers back only once written: a slow sink sees none change, and they are reused', async () => {
    const data = mixedBytes(60 * FRAME + 7);
    const received: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let changed = 0;
    // Each write completes after a random delay, so frames queue up in the sink; a frame
    // recycled before its callback would be overwritten by a later frame meanwhile.
    const sink = new Writable({
      highWaterMark: 2 * FRAME,
      write(chunk: Buffer, _encoding, done) {
        const snapshot = Buffer.from(chunk);
        memories.add(chunk.buffer);
        setTimeout(
          () => {
            if (!chunk.equals(snapshot)) changed += 1;
            received.push(snapshot);
            done();
          },
          Math.floor(Math.random() * 4),
        );
      },
    });
    const result = await writeFramed(randomChunks(data), sink, {
      codec: threaded,
      frameBytes: FRAME,
    });
    expect(result).toEqual({ sha256: sha(data), size: data.length });
    expect(changed).toBe(0);
    expect(sha(await zstdDecode(Buffer.concat(received)))).toBe(sha(data));
    expect(frameContentSizes(Buffer.concat(received)).length).toBe(61);
    // Recycled: far fewer buffers than frames (at most the spares, lanes and the sink's queue).
    expect(memories.size).toBeLessThan(20);
  });

  /**
   * A source that reuses its chunks' memory as FileChunks does, pushing pieces of random
   * length (frames straddle them), and that scribbles over a chunk the moment it is given
   * back: a chunk given back while a frame still needed it would change the stored bytes.
   */
  function scribblingSource(data: Buffer) {
    const spares: Buffer[] = [];
    const given = new Map<Buffer, number>();
    const pushed: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let at = 0;
    const source = Object.assign(
      new Readable({
        read() {
          if (at >= data.length) {
            this.push(null);
            return;
          }
          const length = Math.min(1 + Math.floor(Math.random() * 3 * FRAME), data.length - at);
          const memory = spares.pop() ?? Buffer.allocUnsafeSlow(3 * FRAME);
          memories.add(memory.buffer);
          data.copy(memory, 0, at, at + length);
          at += length;
          const chunk = memory.subarray(0, length);
          pushed.push(chunk);
          // Asynchronously, as a file read answers: the pipeline asks again meanwhile.
          setImmediate(() => this.push(chunk));
        },
      }),
      {
        recycle(chunk: Buffer) {
          given.set(chunk, (given.get(chunk) ?? 0) + 1);
          chunk.fill(0xee);
          spares.push(Buffer.from(chunk.buffer, 0, 3 * FRAME));
        },
      },
    );
    return { source, given, pushed, memories };
  }

  for (const [name, codec] of [
    ['threaded', () => threaded],
    ['synchronous', () => sync],
  ] as const) {
    it(`writeFramed (${name}) gives a recycling source's chunks back once each, only when no frame needs them`, async () => {
      const data = mixedBytes(50 * FRAME + 13);
      const { source, given, pushed, memories } = scribblingSource(data);
      const received: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          received.push(Buffer.from(chunk));
          done();
        },
      });
      const result = await writeFramed(source, sink, { codec: codec(), frameBytes: FRAME });
      expect(result).toEqual({ sha256: sha(data), size: data.length });
      expect(sha(await zstdDecode(Buffer.concat(received)))).toBe(sha(data));
      expect(frameContentSizes(Buffer.concat(received)).length).toBe(51);
      // Every chunk back exactly once (the last one ends in the last frame, compressed at
      // the end), and their memory reused: far fewer buffers than chunks.
      expect(pushed.length).toBeGreaterThan(20);
      expect(pushed.every((chunk) => given.get(chunk) === 1)).toBe(true);
      expect(given.size).toBe(pushed.length);
      expect(memories.size).toBeLessThan(pushed.length / 2);
    });
  }

  it('writeFramed over maxBytes stops the recycling source and gives back only chunks whose frames were compressed', async () => {
    const data = mixedBytes(30 * FRAME);
    const { source, given } = scribblingSource(data);
    await expect(
      writeFramed(
        source,
        new Writable({ write: (_chunk, _encoding, done) => done() }),
        { codec: threaded, frameBytes: FRAME },
        20 * FRAME,
      ),
    ).rejects.toMatchObject({ type: 'OutputLimitExceeded' });
    expect(source.destroyed).toBe(true);
    // Only chunks wholly inside frames handed to the codec were given back.
    const back = [...given.keys()].reduce((sum, chunk) => sum + chunk.length, 0);
    expect(back).toBeLessThanOrEqual(20 * FRAME);
    for (let i = 0; i < 100 && pool.pending > 0; i++) await sleep(10);
    expect(pool.pending).toBe(0);
  });

  it('writeFramed with recycling: a sink that fails fails the write and stops the source', async () => {
    const source = randomChunks(mixedBytes(40 * FRAME));
    let writes = 0;
    const sink = new Writable({
      write(_chunk: Buffer, _encoding, done) {
        writes += 1;
        done(writes === 3 ? new Error('disk full') : null);
      },
    });
    await expect(writeFramed(source, sink, { codec: threaded, frameBytes: FRAME })).rejects.toThrow(
      'disk full',
    );
    expect(source.destroyed).toBe(true);
    expect(sink.destroyed).toBe(true);
    for (let i = 0; i < 100 && pool.pending > 0; i++) await sleep(10);
    expect(pool.pending).toBe(0);
  });

  it('selectZstdCodec gives the native codec threads unless zstd.threads is 0', async () => {
    const base = { codec: 'native' as const, level: 3, frameBytes: FRAME };
    const withThreads = await selectZstdCodec({ ...base, threads: 3 });
    expect(withThreads.threads).toBe(3);
    expect(withThreads.compressFrameAsync).toBeTypeOf('function');
    const without = await selectZstdCodec({ ...base, threads: 0 });
    expect(without.compressFrameAsync).toBeUndefined();
    const js = await selectZstdCodec({ ...base, codec: 'js', threads: 3 });
    expect(js.compressFrameAsync).toBeUndefined();
  });

  it('zstd.threads: defaults to the CPUs (at most 2), RUNBOX_ZSTD_THREADS sets it, a bad value names the field', () => {
    expect(loadConfig({ env: {} }).zstd.threads).toBe(defaultZstdThreads());
    expect(defaultZstdThreads()).toBeGreaterThanOrEqual(1);
    expect(defaultZstdThreads()).toBeLessThanOrEqual(2);
    expect(loadConfig({ env: { RUNBOX_ZSTD_THREADS: '0' } }).zstd.threads).toBe(0);
    for (const threads of [-1, 1.5, 65]) {
      expect(() => loadConfig({ env: {}, overrides: { zstd: { threads } } })).toThrow(
        expect.objectContaining({ type: 'InvalidConfig', field: 'zstd.threads' }),
      );
    }
  });

  it('threads idle for idleMs are stopped, and start again for the next frame', async () => {
    const idle = new CompressPool({
      bindingPath: zstdNapiBindingPath(),
      level: 3,
      threads: 2,
      idleMs: 50,
    });
    try {
      const input = mixedBytes(FRAME);
      await Promise.all([idle.compress([input]), idle.compress([input])]);
      expect(idle.workers).toBe(2);
      for (let i = 0; i < 100 && idle.workers > 0; i++) await sleep(20);
      expect(idle.workers).toBe(0);
      expect((await idle.compress([input])).equals(sync.compressFrame(input))).toBe(true);
      expect(idle.workers).toBe(1);
    } finally {
      await idle.close();
    }
  });

  it('codecs selected with the same settings (one shared pool) compress concurrent streams correctly', async () => {
    const zstd = { codec: 'native' as const, level: 3, frameBytes: FRAME, threads: 2 };
    const [a, b] = await Promise.all([selectZstdCodec(zstd), selectZstdCodec(zstd)]);
    expect(a.compressFrameAsync).toBeTypeOf('function');
    const data = mixedBytes(12 * FRAME);
    const [x, y] = await Promise.all([framed(a, data), framed(b, data)]);
    expect(x.equals(y)).toBe(true);
    expect(sha(await zstdDecode(x))).toBe(sha(data));
  });

  it('a closed pool refuses work with a typed error', async () => {
    const closing = new CompressPool({ bindingPath: zstdNapiBindingPath(), level: 3, threads: 1 });
    await closing.compress([Buffer.alloc(10)]);
    expect(closing.workers).toBe(1);
    await closing.close();
    expect(closing.workers).toBe(0);
    await expect(closing.compress([Buffer.alloc(10)])).rejects.toMatchObject({ type: 'Internal' });
  });

  it('a worker that cannot load the addon fails its frame instead of hanging', async () => {
    const broken = new CompressPool({
      bindingPath: '/nonexistent/binding.node',
      level: 3,
      threads: 1,
    });
    try {
      await expect(broken.compress([Buffer.alloc(10)])).rejects.toMatchObject({
        type: 'Internal',
      });
      expect(broken.pending).toBe(0);
    } finally {
      await broken.close();
    }
  });
});
