import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { webhookUrlSyntaxProblem, type Config } from '../config.js';
import { InvalidSpecError } from '../errors/index.js';

export type WebhookPolicy = Pick<
  Config['webhooks'],
  'allowHosts' | 'allowPrivate' | 'secret' | 'url'
>;

/**
 * Addresses no webhook ever reaches, whatever the operator allows: link-local (where
 * cloud metadata services answer with credentials), the metadata services' own
 * addresses, "this host" and multicast. A webhook is a request runbox makes on behalf of
 * whoever submitted the job, so it must not become a way to read the box's credentials.
 */
const NEVER = new BlockList();
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata (inside 100.64/10)
NEVER.addSubnet('224.0.0.0', 4, 'ipv4');
NEVER.addSubnet('240.0.0.0', 4, 'ipv4');
NEVER.addAddress('::', 'ipv6');
NEVER.addAddress('fd00:ec2::254', 'ipv6'); // AWS IMDS over IPv6 (inside fc00::/7)
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addSubnet('ff00::', 8, 'ipv6');

/** Loopback and private ranges: refused unless webhooks.allowPrivate. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('198.18.0.0', 15, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

/**
 * An IPv6 address that carries an IPv4 one (::ffff:a.b.c.d, NAT64 64:ff9b::/96) is
 * judged by the IPv4 address it reaches: ::ffff:169.254.169.254 is the metadata service.
 */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why a webhook may not reach this IP address, or undefined when it may. */
export function addressRefusal(address: string, allowPrivate: boolean): string | undefined {
  const v4 = embeddedIpv4(address);
  const ip = v4 ?? address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (NEVER.check(ip, family)) {
    return `${address} is a link-local, metadata, multicast or unspecified address, which webhooks never reach`;
  }
  if (!allowPrivate && PRIVATE.check(ip, family)) {
    return `${address} is a loopback or private address; the operator allows those with webhooks.allowPrivate`;
  }
  return undefined;
}

function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  if (allowHosts.length === 0) return true;
  const name = host.toLowerCase();
  return allowHosts.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.')
      ? name.endsWith(p.slice(1)) && name.length > p.length - 1
      : name === p;
  });
}

/** The host part of a parsed URL without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a webhook URL at submit: shape, the server's readiness to sign, the host
 * allow-list, and a literal IP address's class. A host name is resolved only at delivery
 * time (resolveWebhookAddress), since what it resolves to now says nothing about then.
 * Throws InvalidSpec naming `field`.
 */
export function checkWebhookUrl(text: string, policy: WebhookPolicy, field = 'webhook_url'): void {
  const problem = webhookUrlSyntaxProblem(text);
  if (problem) throw new InvalidSpecError(field, problem);
  if (text.length > 2048) throw new InvalidSpecError(field, 'is longer than 2048 characters');
  if (!policy.secret) {
    throw new InvalidSpecError(
      field,
      'this server has no webhook signing secret (webhooks.secret / RUNBOX_WEBHOOK_SECRET), ' +
        'so it sends no webhooks; ask its operator to set one',
    );
  }
  const url = new URL(text);
  const host = bareHost(url);
  if (!hostAllowed(host, policy.allowHosts)) {
    throw new InvalidSpecError(
      field,
      `host ${host} is not in the server's webhooks.allowHosts (${policy.allowHosts.join(', ')})`,
    );
  }
  if (isIP(host)) {
    const refusal = addressRefusal(host, policy.allowPrivate);
    if (refusal) throw new InvalidSpecError(field, refusal);
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * The address a delivery connects to, checked now: every address the name resolves to
 * must pass (an attacker's DNS may answer a public and a private address), and the
 * caller connects to the checked address itself rather than resolving again, so a name
 * that rebinds between the check and the connection cannot slip through.
 * Throws InvalidSpec naming webhook_url with the reason.
 */
export async function resolveWebhookAddress(
  text: string,
  policy: WebhookPolicy,
  resolve: (host: string) => Promise<ResolvedAddress[]> = defaultResolve,
): Promise<ResolvedAddress> {
  checkWebhookUrl(text, policy);
  const host = bareHost(new URL(text));
  const ipFamily = isIP(host);
  const addresses: ResolvedAddress[] =
    ipFamily !== 0 ? [{ address: host, family: ipFamily as 4 | 6 }] : await resolve(host);
  if (addresses.length === 0) {
    throw new InvalidSpecError('webhook_url', `host ${host} resolves to no address`);
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, policy.allowPrivate);
    if (refusal) {
      throw new InvalidSpecError('webhook_url', `host ${host} resolves to ${refusal}`);
    }
  }
  return addresses[0]!;
}

async function defaultResolve(host: string): Promise<ResolvedAddress[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}
