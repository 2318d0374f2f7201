import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { webhookUrlSyntaxProblem, type Config } from '../config.js';
import { InvalidSpecError } from '../errors/index.js';
import { codePoints } from '../codePoints.js';

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
PRIVATE.addSubnet('192.0.0.0', 24, 'ipv4'); // IETF protocol assignments: not routed
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
// Local-use NAT64 (RFC 8215): a network's own translator, to whatever IPv4 it maps.
PRIVATE.addSubnet('64:ff9b:1::', 48, 'ipv6');

/** The 16 bytes of an IPv6 address (any textual form, a dotted IPv4 tail too). */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
    text = `${text.slice(0, tail.index)}${hex(a, b)}:${hex(c, d)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const groups =
    halves.length === 2
      ? [...head, ...Array<number>(8 - head.length - rest.length).fill(0), ...rest]
      : head;
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    return undefined;
  }
  return groups.flatMap((g) => [g >> 8, g & 255]);
}

/**
 * The IPv4 address an IPv6 one carries and reaches, judged in its place: IPv4-mapped
 * (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d), the deprecated IPv4-compatible
 * ::a.b.c.d, the well-known NAT64 prefix 64:ff9b::/96 and 6to4 (2002:AABB:CCDD::/48,
 * whose relay forwards to AA.BB.CC.DD). ::ffff:169.254.169.254 is the metadata service.
 */
function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  const dotted = (at: number) => b.slice(at, at + 4).join('.');
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(12);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return dotted(12);
  // :: and ::1 are judged as themselves (unspecified, loopback).
  if (zero(0, 12) && !(zero(12, 15) && b[15]! <= 1)) return dotted(12);
  const nat64 = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
  if (nat64.every((x, i) => b[i] === x)) return dotted(12);
  if (b[0] === 0x20 && b[1] === 0x02) return dotted(2);
  return undefined;
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
 * time (resolveWebhookAddresses), since what it resolves to now says nothing about then.
 * Throws InvalidSpec naming `field`.
 */
export function checkWebhookUrl(text: string, policy: WebhookPolicy, field = 'webhook_url'): void {
  const problem = webhookUrlSyntaxProblem(text);
  if (problem) throw new InvalidSpecError(field, problem);
  // Characters as the schema's maxLength counts them: 1,025 emoji passed it and were refused here.
  if (codePoints(text) > 2048) {
    throw new InvalidSpecError(field, 'is longer than 2048 characters');
  }
  if (!policy.secret) {
    throw new InvalidSpecError(
      field,
      // `runbox run`'s user is its own operator: "ask its operator" sent them to nobody.
      'no webhook signing secret is set (webhooks.secret in the config file, or ' +
        "RUNBOX_WEBHOOK_SECRET), so no webhooks are sent; set one, or ask the server's operator to",
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
 * The addresses a delivery may connect to, checked now, in the resolver's order: every
 * address the name resolves to must pass (an attacker's DNS may answer a public and a
 * private address), and the caller connects to these addresses themselves rather than
 * resolving again, so a name that rebinds between the check and the connection cannot
 * slip through. Throws InvalidSpec naming webhook_url with the reason.
 */
export async function resolveWebhookAddresses(
  text: string,
  policy: WebhookPolicy,
  resolve: (host: string) => Promise<ResolvedAddress[]> = defaultResolve,
): Promise<ResolvedAddress[]> {
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
  return addresses;
}

async function defaultResolve(host: string): Promise<ResolvedAddress[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}
