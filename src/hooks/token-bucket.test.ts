import { describe, expect, it } from 'vitest';
import { createTokenBuckets } from './token-bucket.js';

describe('createTokenBuckets', () => {
  it('allows a burst, then refills at the rate, with Retry-After in whole seconds', () => {
    const buckets = createTokenBuckets({ ratePerSecond: 2, burst: 3 });
    const results = Array.from({ length: 4 }, () => buckets.take('p', 0));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterS).toBe(1);
    expect(buckets.take('p', 499).allowed).toBe(false);
    expect(buckets.take('p', 1000).allowed).toBe(true);
  });

  it('keeps keys apart and never holds more than maxKeys of them', () => {
    const buckets = createTokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 100 });
    expect(buckets.take('a', 0).allowed).toBe(true);
    expect(buckets.take('b', 0).allowed).toBe(true);
    expect(buckets.take('a', 0).allowed).toBe(false);
    for (let i = 0; i < 10_000; i++) buckets.take(`k${i}`, 0);
    expect(buckets.size()).toBe(100);
  });

  it('says how long to wait for a slow rate', () => {
    const buckets = createTokenBuckets({ ratePerSecond: 0.1, burst: 1 });
    buckets.take('p', 0);
    expect(buckets.take('p', 0)).toEqual({ allowed: false, retryAfterS: 10 });
  });
});
