import { networkInterfaces } from 'node:os';
import type { Config } from '../config.js';

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/**
 * The URL this node's API is reached at by other nodes: `advertiseUrl` when set, else
 * the bound address and port. A wildcard bind (0.0.0.0, ::) is reached by any of this
 * machine's addresses: the first non-internal IPv4 one is advertised (an address
 * literal, which the Host check of a wildcard bind accepts; a name would need
 * allowedHosts), or loopback on a machine with none.
 */
export function advertisedUrl(config: Pick<Config, 'advertiseUrl' | 'host'>, port: number): string {
  if (config.advertiseUrl !== null) return config.advertiseUrl.replace(/\/+$/, '');
  const host = WILDCARD_BINDS.has(config.host) ? firstExternalAddress() : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function firstExternalAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (!address.internal && address.family === 'IPv4') return address.address;
    }
  }
  return '127.0.0.1';
}

/** The host name of `advertiseUrl` (lower case, no brackets), or null when unset. */
export function advertisedHostName(config: Pick<Config, 'advertiseUrl'>): string | null {
  if (config.advertiseUrl === null) return null;
  try {
    return new URL(config.advertiseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return null;
  }
}
