import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../src/api/loginLimiter.js';

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
});
