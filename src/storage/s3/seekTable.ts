import { RunboxError } from '../../errors/index.js';

/**
 * The frame index an S3 blob carries at its end, in zstd's "seekable format" (zstd
 * contrib/seekable_format): a skippable frame (magic 0x184D2A5E) holding, per frame,
 * its compressed and decompressed size, then a 9-byte footer. Decoders skip it as any
 * skippable frame (zstd(1) and runbox's FrameDecompressor both do), so the object is
 * still a plain zstd stream.
 *
 * Why in the object and not beside it: a ranged read needs the index, and an index in
 * the same object can never be missing or belong to another upload of the blob. Walking
 * the block headers instead (what FileBlobStore does on disk) costs one HTTP round
 * trip per 128 KiB block of incompressible data.
 */

const SKIPPABLE_MAGIC = 0x184d2a5e;
const SEEKABLE_MAGIC = 0x8f92eab1;
const ENTRY_BYTES = 8;
const FOOTER_BYTES = 9;
/** Magic and frame size of the skippable frame. */
const HEADER_BYTES = 8;

export interface SeekEntry {
  compressedBytes: number;
  contentSize: number;
}

/** Bytes of the seek table for `frames` frames (header, entries, footer). */
export function seekTableBytes(frames: number): number {
  return HEADER_BYTES + frames * ENTRY_BYTES + FOOTER_BYTES;
}

export function encodeSeekTable(entries: readonly SeekEntry[]): Buffer {
  const out = Buffer.alloc(seekTableBytes(entries.length));
  out.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  out.writeUInt32LE(out.length - HEADER_BYTES, 4);
  let at = HEADER_BYTES;
  for (const entry of entries) {
    out.writeUInt32LE(entry.compressedBytes, at);
    out.writeUInt32LE(entry.contentSize, at + 4);
    at += ENTRY_BYTES;
  }
  out.writeUInt32LE(entries.length, at);
  out.writeUInt8(0, at + 4); // descriptor: no per-frame checksums
  out.writeUInt32LE(SEEKABLE_MAGIC, at + 5);
  return out;
}

function corrupt(message: string): RunboxError {
  return new RunboxError('Internal', `corrupt seek table in an S3 blob: ${message}`);
}

/** Frames in the table whose footer is the last 9 bytes of `footer`. */
export function seekTableFrames(footer: Uint8Array): number {
  if (footer.length < FOOTER_BYTES) throw corrupt('shorter than its footer');
  const view = Buffer.from(footer.buffer, footer.byteOffset, footer.byteLength);
  const at = footer.length - FOOTER_BYTES;
  if (view.readUInt32LE(at + 5) !== SEEKABLE_MAGIC) throw corrupt('no seekable magic');
  if ((view.readUInt8(at + 4) & 0x7c) !== 0) throw corrupt('reserved descriptor bits set');
  return view.readUInt32LE(at);
}

/** Parses a whole seek table (exactly seekTableBytes(n) bytes, without checksums). */
export function decodeSeekTable(table: Uint8Array): SeekEntry[] {
  const view = Buffer.from(table.buffer, table.byteOffset, table.byteLength);
  const frames = seekTableFrames(view);
  if (view.readUInt8(view.length - 5) & 0x80) throw corrupt('per-frame checksums are not written');
  if (view.length !== seekTableBytes(frames)) {
    throw corrupt(`${view.length} bytes for ${frames} frames`);
  }
  if (view.readUInt32LE(0) !== SKIPPABLE_MAGIC) throw corrupt('no skippable frame magic');
  if (view.readUInt32LE(4) !== view.length - HEADER_BYTES) throw corrupt('frame size mismatch');
  const entries: SeekEntry[] = [];
  for (let i = 0, at = HEADER_BYTES; i < frames; i += 1, at += ENTRY_BYTES) {
    entries.push({
      compressedBytes: view.readUInt32LE(at),
      contentSize: view.readUInt32LE(at + 4),
    });
  }
  return entries;
}

/**
 * The frames to fetch for the decompressed bytes [start, end]: the compressed byte span
 * [from, to] (inclusive) and the decompressed offset where that span begins.
 */
export function framesForRange(
  entries: readonly SeekEntry[],
  start: number,
  end: number,
): { from: number; to: number; firstByte: number } | null {
  let compressed = 0;
  let position = 0;
  let from = -1;
  let firstByte = 0;
  let to = -1;
  for (const entry of entries) {
    const frameEnd = position + entry.contentSize; // exclusive
    if (from < 0 && frameEnd > start) {
      from = compressed;
      firstByte = position;
    }
    if (from >= 0) to = compressed + entry.compressedBytes - 1;
    compressed += entry.compressedBytes;
    position = frameEnd;
    if (from >= 0 && frameEnd > end) break;
  }
  return from < 0 ? null : { from, to, firstByte };
}
