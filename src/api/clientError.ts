import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { RunboxError } from '../errors/index.js';
import type { Logger } from '../log.js';

/**
 * Answers a request Node's HTTP parser refused before fastify saw it (a raw non-ASCII
 * byte in the query, a control character in a header, headers over Node's
 * maxHeaderSize, a request that never finished arriving) with the documented error
 * body. Fastify's own answer here is `{"error":"Bad Request","message":"Client Error"}`,
 * the one body a client could get that is not the `Error` component.
 */
/** How long a refused request's client may go on sending before the socket is closed. */
const CUT_OFF_MS = 5000;

/**
 * @param counted adds the answer to the request histogram: fastify's onResponse hook,
 * which counts every other answer, never sees these.
 */
export function clientErrorHandler(log: Logger, counted: (status: number) => void) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has no one left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let problem: RunboxError;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      problem = new RunboxError(
        'PayloadTooLarge',
        "the request's headers are larger than the server reads; send fewer or smaller headers",
        { field: 'headers' },
      );
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      problem = new RunboxError(
        'InvalidSpec',
        'the request did not arrive in full in time; send it again',
        { field: 'request' },
      );
    } else {
      problem = new RunboxError(
        'InvalidSpec',
        `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'}); ` +
          'percent-encode bytes outside ASCII in the URL and send headers without control characters',
        { field: 'request' },
      );
    }
    if (!socket.writable) {
      // Already answered: what a refused client goes on sending can be refused again
      // (headers past the size Node reads), which logged and counted one answer twice.
      socket.destroy(error);
      return;
    }
    const id = randomUUID();
    log.info('request refused by the HTTP parser', { request_id: id, code: error.code, status });
    counted(status);
    const body = JSON.stringify({
      error: { type: problem.type, message: problem.message, field: problem.field, request_id: id },
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${id}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
    // What the client still sends is read and dropped: closing with bytes unread resets
    // the connection, and a client still writing (headers past the size Node reads) lost
    // the answer to ECONNRESET on Node 24. One that never stops is cut off.
    socket.resume();
    const cutOff = setTimeout(() => socket.destroy(), CUT_OFF_MS);
    cutOff.unref();
    socket.once('close', () => clearTimeout(cutOff));
  };
}

/**
 * Resolves once the rest of a refused request's body has arrived (read and dropped), or
 * after CUT_OFF_MS. A 413 is answered then, not at once: answered while the client
 * still sent, its connection was closed with the client's bytes unread, which resets
 * it, and a client still writing (Node's fetch, runbox's own CLI) lost the 413 to EPIPE,
 * so the CLI said it could not reach the server.
 */
export function unreadBodyDropped(request: FastifyRequest): Promise<void> {
  const incoming = request.raw;
  if (incoming.complete || incoming.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(cutOff);
      incoming.off('end', done);
      incoming.socket.off('close', done);
      resolve();
    };
    const cutOff = setTimeout(done, CUT_OFF_MS);
    incoming.once('end', done);
    incoming.socket.once('close', done);
    incoming.resume();
  });
}
