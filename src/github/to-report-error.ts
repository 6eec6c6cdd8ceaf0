/**
 * What a failed GitHub request means for the outbox (outbox/report-error.ts). Pure.
 * - 403/429 with `retry-after` (secondary limits) or `x-ratelimit-remaining: 0` with
 *   `x-ratelimit-reset` (primary limit): rate-limited, wait as GitHub says;
 * - 5xx, 408, no answer (network, timeout): retryable;
 * - any other 4xx (a 422 for a bad body, a 404 for a repository the App lost): rejected — sending
 *   the same request again cannot help; the report is recorded failed with GitHub's message.
 */
import { ReportError } from '../outbox/report-error.js';

interface RequestFailure {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Without retry-after, a secondary limit is waited out for a minute (GitHub's advice). */
const SECONDARY_LIMIT_FALLBACK_MS = 60_000;

export function toReportError(error: unknown, now: number = Date.now()): ReportError {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as RequestFailure;
  const status = typeof failure.status === 'number' ? failure.status : undefined;
  const headers = failure.response?.headers ?? {};
  const message = `GitHub answered ${status ?? 'nothing'}: ${String(failure.message ?? error).slice(0, 500)}`;
  if (status === 403 || status === 429) {
    const retryAfter = Number(headers['retry-after']);
    if (Number.isFinite(retryAfter) && retryAfter >= 0) return new ReportError('rate-limited', message, { retryAfterMs: retryAfter * 1000, cause: error });
    if (String(headers['x-ratelimit-remaining']) === '0') {
      const reset = Number(headers['x-ratelimit-reset']) * 1000;
      return new ReportError('rate-limited', message, { retryAfterMs: Number.isFinite(reset) ? Math.max(0, reset - now) + 1000 : SECONDARY_LIMIT_FALLBACK_MS, cause: error });
    }
    if (status === 429 || /secondary rate|abuse/i.test(message)) return new ReportError('rate-limited', message, { retryAfterMs: SECONDARY_LIMIT_FALLBACK_MS, cause: error });
  }
  if (status === undefined || status >= 500 || status === 408) return new ReportError('retryable', message, { cause: error });
  return new ReportError('rejected', message, { cause: error });
}
