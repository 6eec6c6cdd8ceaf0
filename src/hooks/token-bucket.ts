/**
 * Rate limits in memory, per process: a token bucket per key (a pipeline, an API token) that holds
 * up to `burst` requests and refills `ratePerSecond`. The number of keys is bounded (`maxKeys`,
 * least recently used dropped first) so a flood of made-up keys cannot grow memory. Pure: the
 * clock is passed in.
 */
export interface TokenBucketOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxKeys?: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  /** When refused: whole seconds until one request is allowed again (for Retry-After). */
  readonly retryAfterS: number;
}

export interface TokenBuckets {
  take(key: string, nowMs: number): TakeResult;
  readonly size: () => number;
}

export function createTokenBuckets(options: TokenBucketOptions): TokenBuckets {
  const maxKeys = options.maxKeys ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, nowMs) {
      const previous = buckets.get(key);
      const bucket = previous ?? { tokens: options.burst, at: nowMs };
      if (previous) buckets.delete(key); // re-inserted below: Map order is recency
      bucket.tokens = Math.min(options.burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * options.ratePerSecond);
      bucket.at = nowMs;
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true, retryAfterS: 0 };
      }
      return { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / options.ratePerSecond)) };
    },
    size: () => buckets.size,
  };
}
