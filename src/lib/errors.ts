/**
 * One error type for everything dfm reports. `code` is stable (users and tests match on it),
 * `message` says what to do, `retryable` says whether trying again can help.
 */
export class DfmError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DfmError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export function isDfmError(error: unknown): error is DfmError {
  return error instanceof DfmError;
}

/** The message of any thrown value, for logs and user output. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
