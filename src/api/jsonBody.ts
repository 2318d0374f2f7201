import type { FastifyInstance } from 'fastify';
import { RunboxError } from '../errors/index.js';
import { errorBody } from './errorHandler.js';

/**
 * Deeper than any body the API takes (a batch's job's limits is 4 levels, a schedule's
 * job a few more): deeper input is hostile, and JSON.parse on thousands of levels
 * overflowed the stack into a message about the call stack.
 */
export const MAX_BODY_DEPTH = 64;

/** In a `u` regex a surrogate pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Charsets whose bytes are read as UTF-8 reads them (ASCII is a subset). */
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'us-ascii']);

/** The charset parameter of a Content-Type, lower-cased and unquoted; null when there is none. */
function charsetOf(contentType: string | undefined): string | null {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return match ? match[2]!.toLowerCase().slice(0, 40) : null;
}

function refused(message: string, field = '(body)'): RunboxError {
  return new RunboxError('InvalidSpec', message, { field });
}

/** The first byte offset where `bytes` stops being UTF-8. */
function firstInvalidByte(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, found by halving: decoding is linear, so this is n log n
  // only on a body already known to be bad.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      fatalUtf8.decode(bytes.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  // A prefix may end inside a valid sequence cut short; step back to its lead byte.
  let at = lo;
  while (at > 0 && (bytes[at]! & 0xc0) === 0x80) at--;
  return at;
}

interface Frame {
  path: string;
  keys: Set<string> | null;
  expectKey: boolean;
  key: string;
  index: number;
}

function childPath(frame: Frame): string {
  const part = frame.keys ? frame.key : String(frame.index);
  return frame.path ? `${frame.path}.${part}` : part;
}

/**
 * Refuses what JSON.parse would silently take: a key named twice in one object (the
 * last one won, so a proxy reading the first saw a different job than the one run) and
 * nesting deeper than MAX_BODY_DEPTH. Run before JSON.parse; on text that is not JSON
 * it finds nothing and JSON.parse names the syntax error.
 */
function checkStructure(text: string): void {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return;
        }
        // JSON.parse makes these own properties, but a spread or Object.assign later
        // would set the object's prototype from them (fastify refused them too).
        if (key === '__proto__' || (key === 'prototype' && /(^|\.)constructor$/.test(top.path))) {
          const field = top.path ? `${top.path}.${key}` : key;
          throw refused(`${field}: is not a key a body may use`, field);
        }
        if (top.keys.has(key)) {
          const field = top.path ? `${top.path}.${key}` : key;
          throw refused(`${field}: is named twice in one object; send each key once`, field);
        }
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      const parent = stack.at(-1);
      const path = parent ? childPath(parent) : '';
      if (stack.length >= MAX_BODY_DEPTH) {
        throw refused(
          `${path || '(body)'}: nests deeper than ${MAX_BODY_DEPTH} levels of objects and arrays`,
          path || '(body)',
        );
      }
      stack.push({
        path,
        keys: c === '{' ? new Set() : null,
        expectKey: c === '{',
        key: '',
        index: 0,
      });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
    i++;
  }
}

/**
 * The first string (key or value) holding a lone UTF-16 surrogate, as its field path.
 * Such a string has no UTF-8 form: written to the job's files or the database it became
 * U+FFFD, so the job ran a script other than the one sent.
 */
function loneSurrogateAt(value: unknown, path: string): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path || '(body)' : null;
  if (value === null || typeof value !== 'object') return null;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  for (const [key, item] of entries) {
    const here = path ? `${path}.${key}` : key;
    if (LONE_SURROGATE.test(key)) return here;
    const found = loneSurrogateAt(item, here);
    if (found) return found;
  }
  return null;
}

/**
 * application/json bodies, read as bytes and refused (400, InvalidSpec naming the field)
 * where fastify's parser decoded them lossily or took them as something else: bytes
 * that are not UTF-8 (each became U+FFFD, and the job ran that), lone surrogates,
 * duplicate keys, nesting past MAX_BODY_DEPTH. `__proto__` and `constructor.prototype`
 * keys stay refused, as fastify's onProtoPoisoning: 'error' did.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // The body is read as sent, never decompressed: a gzip'd body was refused as "not
  // valid UTF-8 at byte 1", which sent the client looking for a bad character.
  app.addHook('preParsing', async (request, reply, payload) => {
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      (length !== undefined && length !== '0');
    // A Content-Type on a request without a body types nothing: on a route that reads
    // no body, fastify still parsed the nothing by it, so a cancel from a client that
    // sends Content-Type on every request got 400 "body is empty; send a JSON object",
    // and one from fetch(url, {body: ''}) (text/plain) got 415.
    if (!hasBody && request.routeOptions.schema?.body === undefined) {
      delete request.raw.headers['content-type'];
    }
    if (!hasBody) return payload;
    const charset = charsetOf(request.headers['content-type']);
    // JSON is UTF-8 (RFC 8259): a body sent as latin1 was read as UTF-8, so "é" arrived
    // as a replacement character or a refusal that blamed a byte, not the header.
    if (charset !== null && !UTF8_NAMES.has(charset)) {
      const error = new RunboxError(
        'InvalidSpec',
        `charset=${charset} is not read: JSON bodies are UTF-8; send the body as UTF-8 ` +
          '(Content-Type: application/json, or with charset=utf-8)',
        { field: 'content-type' },
      );
      await reply.status(415).send(errorBody(request, error));
      return payload;
    }
    const coding = request.headers['content-encoding']?.trim().toLowerCase();
    // A coding named on a request without a body codes nothing (returned above).
    if (coding === undefined || coding === '' || coding === 'identity') return payload;
    const error = new RunboxError(
      'InvalidSpec',
      `Content-Encoding ${coding} is not read; send the body uncompressed`,
      { field: 'content-encoding' },
    );
    await reply.status(415).send(errorBody(request, error));
    return payload;
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const bytes = body as Buffer;
    let text: string;
    try {
      text = fatalUtf8.decode(bytes);
    } catch {
      done(
        refused(
          `body is not valid UTF-8 at byte ${firstInvalidByte(bytes)}; send text as UTF-8, ` +
            'and bytes in script or files with "encoding": "base64"',
        ),
      );
      return;
    }
    if (text.trim() === '') {
      done(refused('body is empty; send a JSON object'));
      return;
    }
    try {
      checkStructure(text);
      const parsed: unknown = JSON.parse(text);
      const surrogate = loneSurrogateAt(parsed, '');
      if (surrogate) {
        throw refused(
          `${surrogate}: holds a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape), ` +
            'which has no UTF-8 form; send bytes in script or files with "encoding": "base64"',
          surrogate,
        );
      }
      done(null, parsed);
    } catch (error) {
      done(
        error instanceof RunboxError
          ? error
          : refused(`body is not valid JSON: ${(error as Error).message}`),
      );
    }
  });
}
