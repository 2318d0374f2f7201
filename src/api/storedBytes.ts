import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fresh from 'fresh';
import rangeParser from 'range-parser';
import { RunboxError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';
import type { ByteRange } from '../storage/BlobStore.js';
import { errorBody } from './errorHandler.js';

/**
 * Stored bytes served as HTTP representations (an output file, a finished job's log):
 * one strong ETag (the sha256 of the bytes), If-None-Match, one Range with If-Range,
 * and an exact Content-Length. Both routes answer through here, so a log and a file
 * read the same conditional headers the same way.
 */

/**
 * The one range runbox serves, parsed by range-parser: null without a Range header or
 * with one in a unit other than bytes, 'invalid' (416) for anything but one satisfiable
 * `bytes` range. Several ranges would need a multipart answer, which no runbox client
 * asks for, so they get 416 too.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'invalid' {
  if (header === undefined) return null;
  // range-parser drops a suffix longer than the file (its start falls below 0), yet RFC
  // 9110 14.1.2 makes it the whole file: a client asking for "the last 64 KiB" of a
  // smaller file would get 416. Clamp the suffix to the size before parsing.
  const suffix = /^\s*bytes\s*=\s*-\s*(\d+)\s*$/i.exec(header);
  if (suffix && size > 0 && Number(suffix[1]) > size) header = `bytes=-${size}`;
  const ranges = rangeParser(size, header, { combine: true });
  // RFC 9110 14.2: a server MUST ignore a range unit it does not understand; `items=0-1`
  // got 416 where the answer is the whole representation.
  if (ranges !== -1 && ranges !== -2 && ranges.type !== 'bytes') return null;
  if (ranges === -1 || ranges === -2 || ranges.length !== 1) {
    return 'invalid';
  }
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}

export interface StoredBytes {
  /** sha256 of the bytes: the strong ETag. */
  sha256: string;
  /** Bytes in the representation (decompressed). */
  size: number;
  /** Content-Type of the whole and of a range. */
  type: string;
  /** What the bytes are, for a 416's message: "file", "log". */
  noun: string;
  open(range?: ByteRange): Promise<Readable>;
  /** The stored zstd frames as they are, for clients that accept zstd; null: never. */
  compressed: { size: number; open(): Promise<Readable> } | null;
}

/**
 * fastify answers HEAD by running the GET handler and draining whatever body it sends:
 * a 1 GiB output decompressed for nothing, a log followed until its job ends. A HEAD
 * gets an empty stream instead, never opening the real one (a stream, not nothing, so
 * fastify keeps the Content-Length set).
 */
export async function bodyOf(
  request: FastifyRequest,
  open: () => Promise<Readable>,
): Promise<Readable> {
  return request.method === 'HEAD' ? Readable.from([]) : open();
}

function acceptsZstd(request: FastifyRequest): boolean {
  return /(^|[\s,])zstd(\s*;\s*q=(0?\.\d*[1-9]|1(\.0*)?))?(\s*(,|$))/i.test(
    request.headers['accept-encoding'] ?? '',
  );
}

/** Answers 200, 206, 304 or 416 for `bytes` as the request's conditional headers ask. */
export async function sendStoredBytes(
  request: FastifyRequest,
  reply: FastifyReply,
  bytes: StoredBytes,
): Promise<FastifyReply> {
  const identityTag = `"${bytes.sha256}"`;
  // If-Range with anything but the decompressed bytes' ETag (ranges are served from them
  // alone; another tag, or a date: no Last-Modified is ever sent, so a date cannot be a
  // strong match) asks for the whole (RFC 9110 13.1.5).
  const ifRange = request.headers['if-range'];
  const range =
    ifRange !== undefined && (typeof ifRange !== 'string' || ifRange.trim() !== identityTag)
      ? null
      : parseRange(request.headers.range, bytes.size);
  const asZstd = range === null && bytes.compressed !== null && acceptsZstd(request);
  // The stored frames are other bytes than the decompressed ones, and a strong ETag names
  // one sequence of bytes (RFC 9110 8.8.3): with one tag for both, a client or cache
  // holding part of the zstd answer could resume it with If-Range and get decompressed
  // bytes (206) to append to compressed ones.
  const etag = asZstd ? `"${bytes.sha256}-zstd"` : identityTag;
  void reply.header('etag', etag).header('accept-ranges', 'bytes');
  if (bytes.compressed) void reply.header('vary', 'accept-encoding');
  void reply.type(bytes.type);
  // fresh() reads If-None-Match as the RFC does: lists, weak tags and "*".
  if (fresh(request.headers, { etag })) return reply.status(304).send();
  if (range === 'invalid') {
    // The JSON type again: a byte type set above makes fastify refuse an object body (500).
    // And no Content-Disposition: the error was offered as a download named like the file.
    return reply
      .removeHeader('content-disposition')
      .status(416)
      .type('application/json; charset=utf-8')
      .header('content-range', `bytes */${bytes.size}`)
      .send(
        errorBody(
          request,
          new RunboxError(
            'InvalidSpec',
            bytes.size === 0
              ? `range ${shownValue(request.headers.range)} cannot be satisfied: the ${bytes.noun} is empty; ask without Range`
              : `range ${shownValue(request.headers.range)} is not one range inside 0-${bytes.size - 1}`,
            { field: 'range' },
          ),
        ),
      );
  }
  if (range) {
    void reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${bytes.size}`)
      .header('content-length', range.end - range.start + 1);
    return reply.send(await bodyOf(request, () => bytes.open(range)));
  }
  if (asZstd && bytes.compressed) {
    // The stored frames go out as they are: no recompression on the way out.
    void reply.header('content-encoding', 'zstd').header('content-length', bytes.compressed.size);
    return reply.send(await bodyOf(request, bytes.compressed.open));
  }
  void reply.header('content-length', bytes.size);
  return reply.send(await bodyOf(request, () => bytes.open()));
}

/**
 * Content-Disposition for a download named after the last part of `path` (RFC 6266):
 * an ASCII `filename` for old clients (anything else, and the quote, backslash and
 * percent sign some clients read as escapes, as `_`) and the exact name as UTF-8 in
 * `filename*` (RFC 8187). Bytes are percent-encoded one by one, so no name can throw.
 */
export function attachment(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/gu, '_');
  let encoded = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

const header = (description: string) => ({ description, schema: { type: 'string' } });

/** The answer headers of a stored representation, for the OpenAPI document. */
export const STORED_HEADERS = {
  etag: header('"<sha256>" of the bytes; send it back in If-None-Match or If-Range'),
  'accept-ranges': header('bytes'),
};
export const RANGE_HEADERS = { 'content-range': header('bytes a-b/size') };
export const UNSATISFIABLE_HEADERS = {
  ...STORED_HEADERS,
  'content-range': header('bytes */size'),
};

/** The conditional request headers both routes read. */
export const ConditionalHeaders = {
  range: Type.Optional(
    Type.String({ description: 'One bytes range (bytes=a-b, bytes=a-, bytes=-n), on identity' }),
  ),
  'if-none-match': Type.Optional(
    Type.String({ description: 'An ETag from an earlier answer: 304 when it still matches' }),
  ),
  'if-range': Type.Optional(
    Type.String({
      description: 'The ETag a partial copy came from: the Range is served only if it matches',
    }),
  ),
};
