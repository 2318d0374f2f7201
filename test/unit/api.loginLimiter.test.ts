import { describe, expect, it } from 'vitest';
import { LoginLimiter, limiterKey } from '../../src/api/loginLimiter.js';

describe('LoginLimiter', () => {
  it('allows a burst of failures, then one more per refill period, per address', () => {
    let now = 1_000_000;
    const limiter = new LoginLimiter({ burst: 3, refillMs: 1000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('a')).toBe(0);
      limiter.failed('a');
    }
    expect(limiter.retryAfterMs('a')).toBe(1000);
    expect(limiter.retryAfterMs('b')).toBe(0);
    now += 400;
    expect(limiter.retryAfterMs('a')).toBe(600);
    now += 600;
    expect(limiter.retryAfterMs('a')).toBe(0);
    limiter.failed('a');
    expect(limiter.retryAfterMs('a')).toBe(1000);
    // Fully refilled: forgotten.
    now += 10_000;
    expect(limiter.retryAfterMs('a')).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the longest untouched', () => {
    const limiter = new LoginLimiter({ burst: 1, refillMs: 60_000, maxAddresses: 2, now: () => 5 });
    limiter.failed('a');
    limiter.failed('b');
    limiter.failed('a');
    limiter.failed('c');
    expect(limiter.retryAfterMs('a')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('c')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('b')).toBe(0);
  });

  // Seen: the count went by the exact address, and one IPv6 host holds a whole /64
  // (2^64 addresses, SLAAC privacy addresses change on their own): a new address per
  // 10 guesses made the limit no limit. An IPv6 client now counts by its /64.
  it('counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 one', () => {
    const limiter = new LoginLimiter({ burst: 3, refillMs: 60_000, now: () => 5 });
    limiter.failed('2001:db8:1:2::1');
    limiter.failed('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    limiter.failed('2001:0DB8:0001:0002:ffff::9');
    expect(limiter.retryAfterMs('2001:db8:1:2::77')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('2001:db8:1:3::1')).toBe(0);
    limiter.failed('::ffff:192.0.2.7');
    limiter.failed('192.0.2.7');
    limiter.failed('::ffff:192.0.2.7');
    expect(limiter.retryAfterMs('192.0.2.7')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('192.0.2.8')).toBe(0);
    expect(limiterKey('::1')).toBe('0:0:0:0::/64');
    expect(limiterKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limiterKey('2001:db8::')).toBe('2001:db8:0:0::/64');
  });
});
