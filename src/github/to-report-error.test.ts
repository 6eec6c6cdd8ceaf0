import { describe, expect, it } from 'vitest';
import { toReportError } from './to-report-error.js';

const failure = (status: number | undefined, headers: Record<string, string> = {}, message = 'boom') => Object.assign(new Error(message), { status, response: { headers } });

describe('toReportError', () => {
  it('waits as retry-after says on a secondary limit (403 or 429)', () => {
    expect(toReportError(failure(403, { 'retry-after': '7' }, 'You have exceeded a secondary rate limit'))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 7000 });
    expect(toReportError(failure(429, { 'retry-after': '0' }))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 0 });
  });

  it('waits until x-ratelimit-reset when the primary limit is spent', () => {
    const now = 1_700_000_000_000;
    expect(toReportError(failure(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 30) }), now)).toMatchObject({ kind: 'rate-limited', retryAfterMs: 31_000 });
  });

  it('waits a minute on a secondary limit without retry-after', () => {
    expect(toReportError(failure(403, {}, 'You have exceeded a secondary rate limit'))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 60_000 });
  });

  it('retries server errors, timeouts and no answer at all', () => {
    expect(toReportError(failure(500)).kind).toBe('retryable');
    expect(toReportError(failure(502)).kind).toBe('retryable');
    expect(toReportError(failure(408)).kind).toBe('retryable');
    expect(toReportError(new Error('connect ECONNREFUSED 127.0.0.1:1')).kind).toBe('retryable');
  });

  it('gives up on requests GitHub refuses as such (422, 404, a 403 that is not a limit)', () => {
    expect(toReportError(failure(422, {}, 'Validation Failed')).kind).toBe('rejected');
    expect(toReportError(failure(404)).kind).toBe('rejected');
    expect(toReportError(failure(403, {}, 'Resource not accessible by integration')).kind).toBe('rejected');
  });
});
