/**
 * One table that says which infrastructure errors a retry can fix. SQLSTATE classes from
 * https://www.postgresql.org/docs/current/errcodes-appendix.html, errno from Node's net layer.
 */
const RETRYABLE_SQLSTATE: Readonly<Record<string, string>> = {
  '40001': 'serialization failure',
  '40P01': 'deadlock detected',
  '55P03': 'lock not available',
  '57P01': 'admin shutdown (connection terminated by an administrator)',
  '57P02': 'crash shutdown',
  '57P03': 'cannot connect now (server starting up)',
  '53300': 'too many connections',
  '08000': 'connection exception',
  '08003': 'connection does not exist',
  '08006': 'connection failure',
  '08001': 'unable to connect',
  '08004': 'connection rejected',
  '57014': 'statement timeout or cancel',
};

const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

const CONNECTION_LOST = /Connection terminated|connection ended|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed/i;

export interface PostgresErrorClass {
  readonly retryable: boolean;
  readonly reason: string;
}

export function classifyPostgresError(error: unknown): PostgresErrorClass {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  if (code && code in RETRYABLE_SQLSTATE) return { retryable: true, reason: RETRYABLE_SQLSTATE[code]! };
  if (code && RETRYABLE_ERRNO.has(code)) return { retryable: true, reason: `network error ${code}` };
  const message = error instanceof Error ? error.message : String(error);
  if (CONNECTION_LOST.test(message)) return { retryable: true, reason: 'connection lost' };
  if (code && /^[0-9A-Z]{5}$/.test(code)) return { retryable: false, reason: `SQLSTATE ${code}` };
  return { retryable: false, reason: 'not a PostgreSQL infrastructure error' };
}
