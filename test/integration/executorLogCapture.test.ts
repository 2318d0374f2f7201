import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { demuxDockerStream } from '../../src/executor/demux.js';
import type { LogStream } from '../../src/executor/Executor.js';
import {
  JobLogs,
  LogCapture,
  MARKER_RESERVE,
  MAX_TAIL_BYTES,
  omittedMarker,
} from '../../src/executor/logCapture.js';
import { createFileBlobStore, type BlobStore } from '../../src/storage/index.js';
import { testConfig } from '../helpers/testConfig.js';

const MiB = 1024 * 1024;

/** Bytes 0..n-1 of a recognisable pattern (position mod 251, a prime, so no short cycle). */
function pattern(n: number, offset = 0): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i + offset) % 251;
  return out;
}

function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** The marker of a log `over` bytes past its cap: it counts its own length among the bytes left out. */
function markerFor(over: number): Buffer {
  for (let length = 1; ; length++) {
    const marker = omittedMarker(over + length);
    if (marker.length === length) return marker;
  }
}

describe('log capture (no engine needed)', () => {
  let config: Readonly<Config>;
  let cleanup: () => void;
  let store: BlobStore;
  let spoolDir: string;
  let n = 0;

  beforeAll(async () => {
    ({ config, cleanup } = testConfig());
    store = await createFileBlobStore(config);
    spoolDir = join(config.dataDir, 'spool');
    mkdirSync(spoolDir, { recursive: true });
  });
  afterAll(() => cleanup?.());

  async function read(blob: string | null): Promise<Buffer> {
    if (blob === null) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.openDecompressed(blob)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Feeds data in chunks of `step` bytes and returns the stored result and spool path. */
  async function capture(cap: number, data: Buffer, step: number) {
    const spoolPath = join(spoolDir, `s${++n}`);
    const log = new LogCapture({ capBytes: cap, spoolPath });
    for (let i = 0; i < data.length; i += step) await log.write(data.subarray(i, i + step));
    const info = await log.finish(store);
    return { info, kept: await read(info.blob), spoolPath };
  }

  it('keeps every byte of a log within its cap, untruncated', async () => {
    const data = pattern(100_000);
    const { info, kept } = await capture(MiB, data, 777);
    expect(info).toMatchObject({ bytes: data.length, truncated: false });
    expect(kept.equals(data)).toBe(true);
  });

  it('keeps a log of exactly the cap whole', async () => {
    const data = pattern(64 * 1024);
    const { info, kept } = await capture(64 * 1024, data, 1000);
    expect(info.truncated).toBe(false);
    expect(kept.equals(data)).toBe(true);
  });

  it('stores nothing for an empty stream', async () => {
    const { info } = await capture(MiB, Buffer.alloc(0), 1);
    expect(info).toEqual({ bytes: 0, truncated: false, blob: null });
  });

  it.each([
    ['small writes', 4093],
    ['one huge write', 7 * MiB],
  ])(
    'keeps head, marker and tail of a log over its cap, spooling the head to a file (%s)',
    async (_name, step) => {
      const cap = 4 * MiB;
      const data = pattern(7 * MiB + 123);
      const { info, kept, spoolPath } = await capture(cap, data, step);
      const head = cap - MAX_TAIL_BYTES - MARKER_RESERVE;
      expect(info).toMatchObject({ bytes: data.length, truncated: true });
      const marker = markerFor(data.length - cap);
      const expected = Buffer.concat([
        data.subarray(0, head),
        marker,
        data.subarray(data.length - (cap - head - marker.length)),
      ]);
      expect(kept.length).toBe(cap);
      expect(kept.equals(expected)).toBe(true);
      expect(existsSync(spoolPath)).toBe(false);
    },
  );

  // Stored logs once ran a marker's length over the cap, and a single lost byte read
  // "1 bytes omitted".
  it.each([1, 2, 9, 10, 11, 99, 100, 101, 12_345])(
    'stores a cut log of exactly its cap whose marker counts the bytes left out (%i over)',
    async (over) => {
      for (const cap of [128, 1000, 4 * MiB]) {
        const data = pattern(cap + over, over);
        const { info, kept } = await capture(cap, data, 997);
        expect(info).toMatchObject({ bytes: data.length, truncated: true });
        expect(kept.length).toBe(cap);
        const text = kept.toString('latin1');
        const found = /\n\[runbox: (\d+) (bytes?) omitted\]\n/.exec(text)!;
        const omitted = Number(found[1]);
        expect(found[2]).toBe(omitted === 1 ? 'byte' : 'bytes');
        const head = kept.subarray(0, found.index);
        const tail = kept.subarray(found.index + found[0].length);
        expect(head.length + omitted + tail.length).toBe(data.length);
        expect(head.equals(data.subarray(0, head.length))).toBe(true);
        expect(tail.equals(data.subarray(data.length - tail.length))).toBe(true);
        expect(tail.length).toBeGreaterThanOrEqual(Math.min(MAX_TAIL_BYTES, (cap - 42) / 2));
      }
    },
  );

  it('keeps only the first bytes under a cap too small for the marker', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const { info, kept } = await capture(8, data, 3);
    expect(info).toMatchObject({ bytes: 20, truncated: true });
    expect(kept.toString()).toBe('01234567');
    // README: "a cap under 128 bytes keeps only the first bytes"; 128 has the marker.
    const long = pattern(300, 5);
    const under = await capture(127, long, 50);
    expect(under.kept.equals(long.subarray(0, 127))).toBe(true);
    const at = await capture(128, long, 50);
    expect(at.kept.length).toBe(128);
    expect(at.kept.toString('latin1')).toMatch(/\n\[runbox: \d+ bytes omitted\]\n/);
  });

  it('waits for a live listener that asks it to, until release() ends every wait', async () => {
    const dir = join(spoolDir, `paced${++n}`);
    mkdirSync(dir);
    const seen: string[] = [];
    let letGo = () => {};
    const logs = new JobLogs(MiB, dir, (stream, chunk) => {
      seen.push(`${stream}:${chunk.toString()}`);
      return new Promise<void>((resolve) => (letGo = resolve));
    });
    let firstDone = false;
    const first = logs.write('stdout', Buffer.from('one\n')).then(() => (firstDone = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Held while the listener has not taken the chunk: reading (and the job) waits.
    expect(firstDone).toBe(false);
    letGo();
    await first;
    const second = logs.write('stderr', Buffer.from('two\n'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The container stopped: what is still in transit is read at once, whatever the
    // listener does, so it can neither hang the run nor cut the stored log short.
    logs.release();
    await second;
    await logs.write('stdout', Buffer.from('three\n'));
    expect(seen).toEqual(['stdout:one\n', 'stderr:two\n', 'stdout:three\n']);
    const kept = await logs.finish(store);
    expect((await read(kept.stdout.blob)).toString()).toBe('one\nthree\n');
    expect((await read(kept.stderr.blob)).toString()).toBe('two\n');
  });

  it('demultiplexes Docker frames however the bytes are split', async () => {
    const big = pattern(100_000, 7);
    const wire = Buffer.concat([
      frame(1, Buffer.from('out one\n')),
      frame(2, Buffer.from('err one\n')),
      frame(1, big),
      frame(2, Buffer.alloc(0)),
      frame(1, Buffer.from('out two\n')),
    ]);
    for (const step of [1, 5, 8, 9, 4096, wire.length]) {
      const got: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
      const chunks = Array.from({ length: Math.ceil(wire.length / step) }, (_, i) =>
        wire.subarray(i * step, (i + 1) * step),
      );
      await demuxDockerStream(chunks, (stream, chunk) => {
        got[stream].push(Buffer.from(chunk));
      });
      expect(
        Buffer.concat(got.stdout).equals(
          Buffer.concat([Buffer.from('out one\n'), big, Buffer.from('out two\n')]),
        ),
      ).toBe(true);
      expect(Buffer.concat(got.stderr).toString()).toBe('err one\n');
    }
  });
});
