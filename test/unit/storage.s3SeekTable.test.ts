import { describe, expect, it } from 'vitest';
import {
  decodeSeekTable,
  encodeSeekTable,
  framesForRange,
  seekTableBytes,
  seekTableFrames,
} from '../../src/storage/s3/seekTable.js';

const entries = [
  { compressedBytes: 100, contentSize: 1000 },
  { compressedBytes: 50, contentSize: 1000 },
  { compressedBytes: 70, contentSize: 500 },
];

describe('S3 seek table (zstd seekable format)', () => {
  it('round-trips and is a skippable frame zstd decoders drop', () => {
    const table = encodeSeekTable(entries);
    expect(table.length).toBe(seekTableBytes(3));
    expect(table.readUInt32LE(0)).toBe(0x184d2a5e);
    expect(seekTableFrames(table.subarray(-9))).toBe(3);
    expect(decodeSeekTable(table)).toEqual(entries);
  });

  it('refuses a table that is cut, has a wrong magic or per-frame checksums', () => {
    const table = encodeSeekTable(entries);
    expect(() => decodeSeekTable(table.subarray(1))).toThrow(/skippable frame magic|bytes for/);
    const badMagic = Buffer.from(table);
    badMagic[badMagic.length - 1] = 0;
    expect(() => decodeSeekTable(badMagic)).toThrow(/seekable magic/);
    const checksums = Buffer.from(table);
    checksums[checksums.length - 5] = 0x80;
    expect(() => decodeSeekTable(checksums)).toThrow(/checksums/);
  });

  it('picks the frames holding a byte range, and none past the end', () => {
    expect(framesForRange(entries, 0, 0)).toEqual({ from: 0, to: 99, firstByte: 0 });
    expect(framesForRange(entries, 999, 1000)).toEqual({ from: 0, to: 149, firstByte: 0 });
    expect(framesForRange(entries, 1000, 1999)).toEqual({ from: 100, to: 149, firstByte: 1000 });
    expect(framesForRange(entries, 1500, 9999)).toEqual({ from: 100, to: 219, firstByte: 1000 });
    expect(framesForRange(entries, 2499, 2499)).toEqual({ from: 150, to: 219, firstByte: 2000 });
    expect(framesForRange(entries, 2500, 2600)).toBeNull();
  });
});
