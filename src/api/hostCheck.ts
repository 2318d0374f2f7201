import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { RunboxError } from '../errors/index.js';
import { advertisedHostName } from '../nodes/advertise.js';
import { shownValue } from '../shownValue.js';

/**
 * DNS rebinding and cross-origin requests. A web page the user visits can make the
 * browser send requests to 127.0.0.1:7070 in two ways: through a name it controls that
 * it re-points at 127.0.0.1 (the browser then sends `Host: evil.example:7070` and treats
 * the answers as the page's own), or directly, cross-origin (the browser sends the
 * page's `Origin`). The first is refused by serving only Host names that cannot be
 * rebound; the second by refusing any request whose Origin is not this server's own.
 * No CORS headers are ever sent, so a browser also keeps answers from other pages.
 */

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/** The name part of a Host header: "a:1" -> "a", "[::1]:2" -> "::1"; null if malformed. */
export function hostName(header: string): string | null {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const plain = /^([^:[\]/\s@]+)(?::\d{1,5})?$/.exec(header);
  return plain ? plain[1]!.toLowerCase() : null;
}

/** Names a request's Host may carry: only ones a DNS answer cannot point elsewhere. */
export function hostAllowed(
  name: string,
  config: Pick<Config, 'host' | 'allowedHosts'> & Partial<Pick<Config, 'advertiseUrl'>>,
): boolean {
  if (name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)) return true;
  if (name === config.host.toLowerCase()) return true;
  // The name this node gives other nodes (advertiseUrl): the operator chose it.
  if (name === advertisedHostName({ advertiseUrl: config.advertiseUrl ?? null })) return true;
  // Bound to every address, the server is reached by whichever address the client used;
  // an address literal is never rebound, only a name is.
  if (WILDCARD_BINDS.has(config.host) && isIP(name) !== 0) return true;
  return config.allowedHosts.some((allowed) => allowed.toLowerCase() === name);
}

/** The origin a request came from, if a browser says it came from another one. */
function foreignOrigin(origin: string, host: string): boolean {
  if (origin === 'null') return true;
  try {
    const from = new URL(origin);
    return from.host !== new URL(`${from.protocol}//${host}`).host;
  } catch {
    return true;
  }
}

/** Pages that hold no data: what they show comes from same-origin requests they make. */
const PAGES = new Set(['/', '/docs']);

/**
 * A link on another site that opens the dashboard (or /docs) in a tab: a top-level
 * navigation (a frame says `iframe`, and the pages' CSP forbids framing anyway).
 * Refused, a link to a job pasted in a chat or an issue answered 403 JSON. These pages
 * are the same for everyone and read no cookie; everything they then ask for is
 * same-origin and judged as usual.
 */
function pageOpened(request: FastifyRequest): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    PAGES.has(request.url.split('?')[0]!) &&
    request.headers['sec-fetch-mode'] === 'navigate' &&
    request.headers['sec-fetch-dest'] === 'document'
  );
}

export function registerHostCheck(app: FastifyInstance, config: Readonly<Config>): void {
  app.addHook('onRequest', async (request) => {
    // No Host at all (an HTTP/1.0 probe) cannot come from a browser, which always sends
    // one: only a Host that names something is judged.
    const given = request.headers.host;
    const host = given ?? '';
    const name = given === undefined ? null : hostName(given);
    if (given !== undefined && (name === null || !hostAllowed(name, config))) {
      throw new RunboxError(
        'MisdirectedRequest',
        `Host ${shownValue(host)} is not a name this server answers to; use 127.0.0.1 or ` +
          'localhost, or add the name to allowedHosts in the config',
        { field: 'host' },
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined && foreignOrigin(origin, host)) {
      throw new RunboxError(
        'Forbidden',
        `Origin ${shownValue(origin)} is not this server: requests from web pages of other ` +
          'origins are refused',
        { field: 'origin' },
      );
    }
    // A webhook POSTs wherever a job's webhook_url says: pointed at this API (or another
    // node's), with loopback allowed and no token, it cancelled other jobs. Only webhook
    // deliveries carry this header, and no API request needs it.
    if (request.headers['runbox-delivery'] !== undefined) {
      throw new RunboxError(
        'Forbidden',
        'a webhook delivery (Runbox-Delivery header) is never an API request: point ' +
          'webhook_url at a receiver, not at runbox',
        { field: 'runbox-delivery' },
      );
    }
    // Browsers send Sec-Fetch-Site even where they send no Origin (a GET from an <img>
    // or <script> tag, a link): a request another site started is refused as well.
    const site = request.headers['sec-fetch-site'];
    if ((site === 'cross-site' || site === 'same-site') && !pageOpened(request)) {
      throw new RunboxError(
        'Forbidden',
        `Sec-Fetch-Site "${site}": requests started by another site are refused`,
        { field: 'sec-fetch-site' },
      );
    }
  });
}
