import { isIP } from 'node:net';
import { RunboxError } from '../errors/index.js';

/**
 * Failed dashboard logins per remote address, as a token bucket: `burst` failures at
 * once, then one more every `refillMs`. Only failures take from the bucket, so a right
 * token never uses up anyone's allowance; while an address's bucket is empty every
 * attempt from it is refused before the token is compared (else a 204 among the 429s
 * would still tell a guesser it was right).
 *
 * In memory, per process: a restart forgives, and each node of a cluster counts its
 * own. Bounded: at most `maxAddresses` are tracked; when full the longest-untouched
 * address is forgotten (a full bucket carries no information anyway).
 */
export class LoginLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(
    options: { burst?: number; refillMs?: number; maxAddresses?: number; now?: () => number } = {},
  ) {
    this.burst = options.burst ?? 10;
    this.refillMs = options.refillMs ?? 6000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string): number {
    const bucket = this.refill(limiterKey(address));
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.refillMs);
  }

  /**
   * While `address` may not try: the 429 to answer (TooManyRequests naming `field`) and
   * its Retry-After seconds; null when it may try now.
   */
  refusal(address: string, field: string): { retryAfter: number; error: RunboxError } | null {
    const waitMs = this.retryAfterMs(address);
    if (waitMs <= 0) return null;
    const seconds = Math.ceil(waitMs / 1000);
    return {
      retryAfter: seconds,
      error: new RunboxError(
        'TooManyRequests',
        `too many wrong tokens from this address: try again in ${seconds} s (Retry-After), ` +
          "with the token from the server's configuration (`token`, RUNBOX_TOKEN)",
        { field },
      ),
    };
  }

  /** Counts a wrong token from `address`. */
  failed(remote: string): void {
    const address = limiterKey(remote);
    const bucket = this.refill(address) ?? { tokens: this.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted last: the Map's order is then least recently touched first.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    while (this.buckets.size > this.maxAddresses) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }

  private refill(address: string): { tokens: number; at: number } | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    if (bucket.tokens >= this.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return bucket;
  }
}

/**
 * Whom a remote address counts as: an IPv4 address itself (also when it arrives
 * IPv4-mapped on a dual-stack socket), an IPv6 address by its /64, the least one host
 * is given and can pick addresses from at will.
 */
export function limiterKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) === 4) return address;
  const bare = address.split('%')[0]!.toLowerCase();
  if (isIP(bare) !== 6) return address;
  const [head = '', tail = ''] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = bare.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = bare.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
