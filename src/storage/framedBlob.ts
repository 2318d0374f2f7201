import { createHash } from 'node:crypto';
import { Transform, Writable, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { RunboxError } from '../errors/index.js';
import type { ByteRange } from './BlobStore.js';
import type { ZstdCodec } from './zstd/codec.js';
import { FrameCompressor } from './zstd/FrameCompressor.js';
import { isRecycling } from './recycledInput.js';
import { FrameDecompressor } from './zstd/FrameDecompressor.js';
import { readFrameIndex, type RandomAccess } from './zstd/readFrameIndex.js';

/*
 * The stored form every blob store shares (BlobStore.ts): a blob is a sequence of
 * independent zstd frames, each from at most frameBytes of input, each header carrying
 * its content size. Writing hashes and meters the input as it is compressed; reading a
 * range skips whole frames by their headers. A store only moves bytes: the file system
 * through a file handle, object storage through ranged GETs.
 */

export interface FrameFormat {
  codec: ZstdCodec;
  /** Input bytes per frame. */
  frameBytes: number;
}

/** A fresh Transform writing the frame format (also for tar.zst downloads). */
export function frameCompressor(
  format: FrameFormat,
  onConsumed?: (chunk: Buffer) => void,
): FrameCompressor {
  return new FrameCompressor({ codec: format.codec, frameBytes: format.frameBytes, onConsumed });
}

export function tooLarge(maxBytes: number): RunboxError {
  return new RunboxError(
    'OutputLimitExceeded',
    `output is larger than its limit of ${maxBytes} bytes; stopped storing it`,
  );
}

/**
 * source -> hash and meter -> frames -> out, in one pipeline. Over maxBytes the
 * pipeline fails with OutputLimitExceeded and destroys every stream, the source
 * included (reading stops). Resolves the sha256 and size of the input; how many bytes
 * `out` received is the sink's to count (a file stream's bytesWritten).
 */
export async function writeFramed(
  source: Readable,
  out: Writable,
  format: FrameFormat,
  maxBytes = Infinity,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(tooLarge(maxBytes));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const recycle = format.codec.recycleFrame;
  // The meter passes each chunk on as it came (hashed, not kept), so the compressor is
  // the last to hold it and the one to give it back.
  const compressor = frameCompressor(
    format,
    isRecycling(source) ? (chunk) => source.recycle(chunk) : undefined,
  );
  await pipeline(source, meter, compressor, recycle ? recycling(out, recycle) : out);
  return { sha256: hash.digest('hex'), size };
}

/**
 * Writes frames into `out` and gives each back to the codec once `out` reports it
 * written (write's callback: for a file stream, after the write call returned), never
 * before: the frame's memory then serves a later frame. Ends `out` and waits for it
 * (a file stream's flush and close) when the frames end; an error on either side
 * destroys the other.
 */
function recycling(out: Writable, recycle: (frame: Buffer) => void): Writable {
  const sink = new Writable({
    // Backpressure is `out`'s: a frame is taken once `out` has room for it.
    highWaterMark: 1,
    write(frame: Buffer, _encoding, done) {
      const room = out.write(frame, (error) => {
        if (!error) recycle(frame);
      });
      if (room) done();
      else out.once('drain', () => done());
    },
    final(done) {
      out.end();
      finished(out).then(() => done(), done);
    },
    destroy(error, done) {
      if (!out.destroyed) out.destroy(error ?? undefined);
      done(error);
    },
  });
  out.once('error', (error) => sink.destroy(error));
  return sink;
}

/**
 * The same frames as writeFramed, for content already in memory (a small file).
 * `sha256`: the content's hash when the caller has it (not computed again).
 */
export function frameBuffer(
  data: Buffer,
  format: FrameFormat,
  maxBytes = Infinity,
  sha256?: string,
): { sha256: string; size: number; compressed: Buffer } {
  if (data.length > maxBytes) throw tooLarge(maxBytes);
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length || frames.length === 0; at += format.frameBytes) {
    frames.push(format.codec.compressFrame(data.subarray(at, at + format.frameBytes)));
  }
  const compressed = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
  return {
    sha256: sha256 ?? createHash('sha256').update(data).digest('hex'),
    size: data.length,
    compressed,
  };
}

/** A stored blob as a reader sees it: random access for the index, a stream for the bulk. */
export interface FramedSource extends RandomAccess {
  /** Stored (compressed) bytes. */
  readonly compressedSize: number;
  /** The stored bytes from `start` to the end. */
  streamFrom(start: number): Readable;
}

/** Uncompressed size of a stored blob, from its frame headers (no decoding). */
export async function contentSizeOf(source: FramedSource, sha256: string): Promise<number> {
  let size = 0;
  for await (const frame of readFrameIndex(source, source.compressedSize)) {
    if (frame.contentSize === null) {
      throw new RunboxError('Internal', `blob ${sha256} has a frame without a content size`);
    }
    size += frame.contentSize;
  }
  return size;
}

/** Refuses what no blob can answer: InvalidSpec naming the range. */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RunboxError(
      'InvalidSpec',
      `range: start ${start} and end ${end} must be integers with 0 <= start <= end`,
      { field: 'range' },
    );
  }
}

/**
 * Decoded bytes of a stored blob, from range.start to range.end inclusive. Whole frames
 * before the start are skipped by their headers' content sizes without decoding, so a
 * download resumed near the end of a large blob decodes about one frame extra.
 */
export async function* decodeRange(
  source: FramedSource,
  codec: ZstdCodec,
  range: ByteRange | undefined,
): AsyncGenerator<Buffer> {
  const start = range?.start ?? 0;
  let compressedOffset = 0;
  let position = 0; // uncompressed offset of the next decoded byte
  if (start > 0) {
    for await (const frame of readFrameIndex(source, source.compressedSize)) {
      if (frame.contentSize === null || position + frame.contentSize > start) break;
      position += frame.contentSize;
      compressedOffset += frame.compressedBytes;
    }
  }
  yield* decodeFrom(source.streamFrom(compressedOffset), codec, position, range);
}

/**
 * Decodes zstd frames read from `raw`, whose first byte decodes to uncompressed offset
 * `position`, cut to range (inclusive); stops reading once past its end.
 */
export async function* decodeFrom(
  raw: Readable,
  codec: ZstdCodec,
  position: number,
  range: ByteRange | undefined,
): AsyncGenerator<Buffer> {
  const start = range?.start ?? 0;
  const end = range?.end ?? Infinity;
  const decoder = new FrameDecompressor({ codec });
  raw.once('error', (error) => decoder.destroy(error));
  raw.pipe(decoder);
  try {
    for await (const chunk of decoder as AsyncIterable<Buffer>) {
      const chunkStart = position;
      position += chunk.length;
      if (position <= start) continue;
      const from = Math.max(0, start - chunkStart);
      const to = Math.min(chunk.length, end + 1 - chunkStart);
      if (to > from) yield from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
      if (position > end) return; // stop reading the rest
    }
  } finally {
    raw.unpipe(decoder);
    raw.destroy();
    decoder.destroy();
  }
}
