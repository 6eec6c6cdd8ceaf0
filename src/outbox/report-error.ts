/**
 * How a deliverer tells the outbox sender what a failed delivery means: `rate-limited` delays the
 * report's whole target by `retryAfterMs` (GitHub's or Slack's `retry-after`), `retryable` backs
 * off and tries again, `rejected` will never be accepted (a 422: the request itself is wrong) and
 * is recorded as failed so the target's later reports go on.
 */
export type ReportFailureKind = 'rate-limited' | 'retryable' | 'rejected';

export class ReportError extends Error {
  readonly kind: ReportFailureKind;
  readonly retryAfterMs: number | undefined;

  constructor(kind: ReportFailureKind, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReportError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isReportError(error: unknown): error is ReportError {
  return error instanceof ReportError;
}
