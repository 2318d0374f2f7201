import { isIP } from 'node:net';

/**
 * What is wrong with one webhooks.allowHosts entry, or undefined. A webhook's host is
 * compared as a URL parser writes it (lower case, punycode, IPv6 without brackets, no port
 * or path), so an entry written any other way ("*", "host:443", "[::1]", "bücher.de")
 * matches no host and refused every webhook while the server ran as if it allowed some.
 */
export function allowHostProblem(entry: string): string | undefined {
  if (entry === '*' || entry === '*.*') {
    return `"${entry}" is not a host name; an empty list allows any host, "*.example.com" the subdomains of example.com`;
  }
  const star = entry.startsWith('*.') ? '*.' : '';
  const bare = entry.slice(star.length);
  const written = bare.includes('://') ? undefined : canonicalHost(bare);
  if (written === undefined || written.includes('*')) {
    return `"${entry}" is not a host name or *.suffix pattern (e.g. hooks.example.com, *.example.com)`;
  }
  if (written !== bare.toLowerCase()) {
    return `"${entry}" never matches a webhook's host, which is compared as a URL carries it; write "${star}${written}"`;
  }
  return undefined;
}

/** The host as a URL parser writes it, IPv6 without brackets; undefined when none. */
function canonicalHost(text: string): string | undefined {
  const unbracketed = text.replace(/^\[(.*)\]$/, '$1');
  const literal = isIP(unbracketed) === 6 ? `[${unbracketed}]` : text;
  try {
    return new URL(`http://${literal}/`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
}
