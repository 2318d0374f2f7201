import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'runbox-signature';

/**
 * Signs `${t}.${body}` with HMAC-SHA256, Stripe's scheme: the timestamp is inside the
 * signed text, so a receiver that refuses old timestamps refuses replays, and a
 * replayed body cannot be given a fresh timestamp without the secret.
 */
export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export type VerifyOutcome = { ok: true } | { ok: false; reason: string };

/**
 * What a receiver does (README "Webhooks" shows the same in a few lines): parse the
 * header, recompute the MAC over the raw body, compare in constant time, and refuse a
 * timestamp further than toleranceSeconds from now.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): VerifyOutcome {
  if (!header) return { ok: false, reason: 'no signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t)) return { ok: false, reason: 'no timestamp' };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) {
    return { ok: false, reason: 'timestamp outside the tolerance (a replay?)' };
  }
  const expected = Buffer.from(signatureHeader(secret, t, body).split('v1=')[1]!, 'hex');
  for (const given of parts.get('v1') ?? []) {
    const buffer = Buffer.from(given, 'hex');
    if (buffer.length === expected.length && timingSafeEqual(buffer, expected)) return { ok: true };
  }
  return { ok: false, reason: 'signature does not match' };
}
