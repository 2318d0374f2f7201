import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadZstdNapi } from '../../src/native/addons.js';
import type { ZstdCodec } from '../../src/storage/zstd/codec.js';
import {
  FrameCompressor,
  FrameDecompressor,
  createJsCodec,
  createNativeCodec,
  selectZstdCodec,
} from '../../src/storage/zstd/index.js';
import { parseFrameHeader } from '../../src/storage/zstd/frameFormat.js';
import { frameContentSizes, zstdDecode } from '../helpers/zstdCli.js';

const MiB = 1024 * 1024;

/** Half random (incompressible), half repetitive text, like real job outputs. */
function mixedBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from('line of a log file that repeats a lot 0123456789\n');
  for (let at = 0; at < size; at += 64 * 1024) {
    const piece = Math.min(64 * 1024, size - at);
    if ((at / (64 * 1024)) % 2 === 0) randomBytes(piece).copy(out, at);
    else for (let i = 0; i < piece; i++) out[at + i] = text[i % text.length]!;
  }
  return out;
}

/** Feeds `data` in uneven pieces so frames and headers straddle chunk boundaries. */
function chunked(data: Buffer, piece = 77_777): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
    })(),
    { objectMode: false },
  );
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function compress(codec: ZstdCodec, data: Buffer, frameBytes = MiB): Promise<Buffer> {
  return collect(chunked(data).pipe(new FrameCompressor({ codec, frameBytes })));
}

async function decompress(codec: ZstdCodec, compressed: Buffer, piece?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(chunked(compressed, piece), new FrameDecompressor({ codec }), async (source) => {
    for await (const chunk of source) parts.push(chunk as Buffer);
  });
  return Buffer.concat(parts);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('zstd frame streams', () => {
  let native: ZstdCodec;
  let js: ZstdCodec;
  const data = mixedBytes(5 * MiB + 12_345);
  const codecs = () => ({ native, js });

  beforeAll(async () => {
    const napi = loadZstdNapi();
    expect(napi, 'zstd-napi must load in the test environment').not.toBeNull();
    native = createNativeCodec(napi!, 3);
    js = await createJsCodec(3);
  });

  for (const writer of ['native', 'js'] as const) {
    it(`${writer} writes frames of at most frameBytes, each with its content size`, async () => {
      const compressed = await compress(codecs()[writer], data);
      const sizes = frameContentSizes(compressed);
      expect(sizes).toEqual([MiB, MiB, MiB, MiB, MiB, 12_345]);
      expect(parseFrameHeader(compressed.subarray(0, 18)).hasChecksum).toBe(false);
    });

    for (const reader of ['native', 'js'] as const) {
      it(`${writer} frames decode with the ${reader} codec to the same sha256`, async () => {
        const compressed = await compress(codecs()[writer], data);
        expect(compressed.length).toBeLessThan(data.length);
        // Tiny pieces make block and frame headers straddle chunk boundaries.
        const decoded = await decompress(
          codecs()[reader],
          compressed,
          reader === 'js' ? 4099 : 257,
        );
        expect(decoded.length).toBe(data.length);
        expect(sha(decoded)).toBe(sha(data));
      });
    }

    it(`${writer} frames decode with the zstd command-line tool`, async () => {
      const compressed = await compress(codecs()[writer], data);
      expect(sha(await zstdDecode(compressed))).toBe(sha(data));
    });

    it(`${writer} writes one empty frame for empty input, which zstd -d accepts`, async () => {
      const compressed = await compress(codecs()[writer], Buffer.alloc(0));
      expect(frameContentSizes(compressed)).toEqual([0]);
      expect((await zstdDecode(compressed)).length).toBe(0);
      expect((await decompress(codecs()[writer], compressed)).length).toBe(0);
    });
  }

  it('a stream mixing frames of both codecs decodes as one', async () => {
    const a = data.subarray(0, 2 * MiB + 5);
    const b = data.subarray(2 * MiB + 5);
    const mixed = Buffer.concat([await compress(native, a), await compress(js, b)]);
    expect(sha(await decompress(js, mixed))).toBe(sha(data));
    expect(sha(await decompress(native, mixed))).toBe(sha(data));
    expect(sha(await zstdDecode(mixed))).toBe(sha(data));
  });

  it('decodes frames the zstd CLI wrote with a checksum, and skips skippable frames', async () => {
    const cliFrame = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn('zstd', ['-c', '-q', '-19', `--stream-size=${MiB}`]);
      const out: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.on('error', reject);
      child.on('close', () => resolve(Buffer.concat(out)));
      child.stdin.end(data.subarray(0, MiB));
    });
    expect(parseFrameHeader(cliFrame.subarray(0, 18)).hasChecksum).toBe(true);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const stream = Buffer.concat([skippable, cliFrame, skippable]);
    expect(sha(await decompress(js, stream, 1000))).toBe(sha(data.subarray(0, MiB)));
  });

  // Seen: a 100 MiB sparse output's blob holds its frames in a few hundred bytes; one
  // read of it decoded all of them at once, and a server sending it to a slow reader held
  // the whole file in memory (an 8 GiB one would take 8 GiB).
  it('decodes a chunk holding many frames only as fast as its reader reads', async () => {
    const codec = await createJsCodec(3);
    const zeros = Buffer.alloc(64 * MiB);
    const compressed = await compress(codec, zeros);
    expect(compressed.length).toBeLessThan(64 * 1024); // one read of the blob holds all 64 frames
    const decoder = new FrameDecompressor({ codec });
    decoder.write(compressed);
    decoder.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Nobody has read yet: at most a frame or two is decoded and waiting.
    expect(decoder.readableLength).toBeLessThanOrEqual(2 * MiB);
    let total = 0;
    let zeroes = true;
    for await (const chunk of decoder as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (zeroes && chunk.some((b) => b !== 0)) zeroes = false;
    }
    expect(total).toBe(64 * MiB);
    expect(zeroes).toBe(true);
  });

  it('a stream cut inside a frame is an error, not a short file', async () => {
    const compressed = await compress(native, data.subarray(0, 2 * MiB));
    await expect(
      decompress(native, compressed.subarray(0, compressed.length - 10)),
    ).rejects.toThrow(/truncated zstd stream/);
  });

  it('the js codec refuses a frame larger than its wasm heap allows, with a clear message', async () => {
    const big = await compress(native, data, 5 * MiB);
    await expect(decompress(js, big)).rejects.toThrow(/exceeds the 4194304 this decoder accepts/);
    expect(() => new FrameCompressor({ codec: js, frameBytes: 5 * MiB })).toThrow(/exceeds/);
  });

  describe('codec selection', () => {
    const zstd = { codec: 'auto' as const, level: 3, frameBytes: MiB };

    it('auto picks native when the addon loads, js when it does not', async () => {
      expect((await selectZstdCodec(zstd)).name).toBe('native');
      expect((await selectZstdCodec(zstd, () => null)).name).toBe('js');
    });

    it('js is used when asked even though native would load', async () => {
      expect((await selectZstdCodec({ ...zstd, codec: 'js' })).name).toBe('js');
    });

    it('native fails with InvalidConfig naming zstd.codec when the addon cannot load', async () => {
      await expect(selectZstdCodec({ ...zstd, codec: 'native' }, () => null)).rejects.toMatchObject(
        {
          type: 'InvalidConfig',
          field: 'zstd.codec',
          message: expect.stringMatching(/set zstd.codec to "auto" or "js"/),
        },
      );
    });

    it('a frameBytes too large for the js codec fails at selection, not mid-job', async () => {
      await expect(
        selectZstdCodec({ ...zstd, codec: 'js', frameBytes: 8 * MiB }),
      ).rejects.toMatchObject({ type: 'InvalidConfig', field: 'zstd.frameBytes' });
    });
  });
});
