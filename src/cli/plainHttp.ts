import { connect } from 'node:net';

/**
 * One HTTP/1.1 request over a plain TCP socket (node:net), answer read whole until the
 * server closes the connection (`connection: close`). For the client commands' JSON
 * calls to an http:// server: node:http and its modules (_http_agent, _http_client,
 * _http_server, _http_common, ...) cost a `runbox submit` more than the rest of the
 * request did (node --cpu-prof; README, Performance), and node:net is loaded anyway
 * when stdout is a pipe. https:// keeps node:https.
 *
 * Errors are the socket's own (ECONNREFUSED, ...), as node:http reported them, or an
 * Error with code EPROTO for an answer that is not HTTP/1.x.
 */
export function plainRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  limits: AnswerLimits,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // What node:http refused before sending anything, refused the same way.
    if (url.protocol !== 'http:') {
      throw Object.assign(new Error(`protocol "${url.protocol}" not supported`), {
        code: 'ERR_INVALID_PROTOCOL',
      });
    }
    for (const [name, value] of Object.entries(headers)) {
      if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
        throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), {
          code: 'ERR_INVALID_CHAR',
        });
      }
    }
    const head =
      `${method} ${url.pathname}${url.search} HTTP/1.1\r\n` +
      `host: ${url.host}\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      (payload === undefined && method !== 'GET' ? 'content-length: 0\r\n' : '') +
      'connection: close\r\n\r\n';
    const socket = connect({
      // URL keeps an IPv6 literal's brackets ([::1]); the socket wants the address.
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 80),
    });
    const chunks: Buffer[] = [];
    let length = 0;
    socket.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limits.maxBytes) socket.destroy(tooLarge(limits));
      else chunks.push(chunk);
    });
    socket.setTimeout(limits.idleMs, () => socket.destroy(tooSlow(limits)));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    // Not end(): a server may take a half-closed connection as an aborted request
    // (node:http does, unless httpAllowHalfOpen); it closes the socket after its answer.
    socket.write(
      payload === undefined ? head : Buffer.concat([Buffer.from(head, 'latin1'), payload]),
    );
  });
}

/**
 * How large and how prompt an answer must be: one past maxBytes fails E2BIG, one silent
 * for idleMs fails ETIMEDOUT (the client's defaults: requestLimits in client.ts).
 */
export interface AnswerLimits {
  maxBytes: number;
  idleMs: number;
}

export const tooLarge = (limits: AnswerLimits) =>
  Object.assign(new Error(`answer larger than ${limits.maxBytes} bytes`), { code: 'E2BIG' });
export const tooSlow = (limits: AnswerLimits) =>
  Object.assign(new Error(`no answer for ${limits.idleMs} ms`), { code: 'ETIMEDOUT' });

function protocolError(message: string): Error {
  return Object.assign(new Error(message), { code: 'EPROTO' });
}

/** Status and body of a whole HTTP/1.x answer (content-length, chunked, or until close). */
export function parseResponse(raw: Buffer): { status: number; text: string } {
  let start = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', start);
    if (end === -1) throw protocolError('the server closed the connection before a whole answer');
    const lines = raw.subarray(start, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (!status) throw protocolError(`not an HTTP/1.x answer: ${(lines[0] ?? '').slice(0, 40)}`);
    const code = Number(status[1]);
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0)
        fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    start = end + 4;
    // 1xx answers (100 Continue, 103 Early Hints) come before the real one.
    if (code >= 100 && code < 200) continue;
    let body: Buffer;
    if (/(^|,)\s*chunked\s*$/i.test(fields.get('transfer-encoding') ?? '')) {
      body = dechunk(raw.subarray(start));
    } else if (fields.has('content-length')) {
      const length = Number(fields.get('content-length'));
      if (!Number.isSafeInteger(length) || length < 0 || raw.length - start < length) {
        throw protocolError('the answer is shorter than its content-length');
      }
      body = raw.subarray(start, start + length);
    } else {
      body = code === 204 || code === 304 ? Buffer.alloc(0) : raw.subarray(start);
    }
    return { status: code, text: body.toString('utf8') };
  }
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd === -1) throw protocolError('a chunked answer ended early');
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isSafeInteger(size) || size < 0) throw protocolError('bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    const from = lineEnd + 2;
    if (raw.length < from + size + 2) throw protocolError('a chunked answer ended early');
    parts.push(raw.subarray(from, from + size));
    at = from + size + 2;
  }
}
