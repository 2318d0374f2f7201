import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { connectionError } from './connectionError.js';
import type { ResolvedAddress } from './urlPolicy.js';

export type PostOutcome =
  { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/** Bytes of a receiver's answer read (and thrown away) before the socket is closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs one delivery to the addresses resolveWebhookAddresses checked. The connection's
 * lookup is pinned to them, so the name is not resolved a second time (DNS rebinding),
 * and the connection tries each in turn (Node's autoSelectFamily, on since Node 20) as
 * curl does: taking the first only failed every try of a name whose AAAA record the box
 * cannot reach. TLS still verifies the certificate against the URL's host name (SNI and
 * hostname checks use the URL, not the address). Redirects are not followed: a 3xx is
 * a failure like any non-2xx, or a receiver could send the signed body anywhere.
 */
export function postWebhook(
  url: string,
  addresses: readonly ResolvedAddress[],
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostOutcome> {
  const target = new URL(url);
  const [first] = addresses;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(
        null,
        addresses.map(({ address, family }) => ({ address, family })),
      );
    } else callback(null, first!.address, first!.family);
  };
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      // The deadline still ends a body that never does, but no longer holds the process.
      timer.unref();
      resolve(outcome);
    };
    const request = client.request(
      target,
      {
        method: 'POST',
        lookup: pinned,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
      },
      (response) => {
        // The status line is the receiver's answer. Waiting for the body's end too let a
        // receiver that answered 200 and then streamed without end be recorded "no answer"
        // and retried until retryForMs failed it, though it had taken every try.
        const statusCode = response.statusCode ?? 0;
        done(
          statusCode >= 200 && statusCode < 300
            ? { ok: true, statusCode }
            : { ok: false, statusCode, error: `receiver answered ${statusCode}` },
        );
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) response.destroy();
        });
        response.on('error', () => request.destroy());
      },
    );
    // One deadline for connect, send and the status line, not per socket event; it also
    // ends the reading of an answer body that outlives it.
    const timer = setTimeout(() => {
      request.destroy();
      done({ ok: false, statusCode: null, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, statusCode: null, error: connectionError(error, target) }),
    );
    request.end(body);
  });
}
