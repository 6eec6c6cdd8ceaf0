import { classifyPostgresError } from '../db/classify-postgres-error.js';
import { isDfmError, messageOf } from '../lib/errors.js';
import type { TaskError } from './write-task-outcome.js';

/**
 * A task's `retries` apply to every failure except the ones that fail the same way each time:
 * errors marked non-retryable, SQL syntax or permission errors (SQLSTATE class 42) and data
 * exceptions (class 22). Messages never contain bound SQL parameters (pg does not put them there).
 */
export function toTaskError(error: unknown): TaskError {
  if (isDfmError(error)) return { code: error.code, message: error.message, retryable: error.retryable };
  const sqlstate = (error as { code?: unknown } | null)?.code;
  if (typeof sqlstate === 'string' && /^[0-9A-Z]{5}$/.test(sqlstate)) {
    const deterministic = sqlstate.startsWith('42') || sqlstate.startsWith('22');
    const { reason } = classifyPostgresError(error);
    return { code: `POSTGRES_${sqlstate}`, message: `${messageOf(error)} (${reason})`, retryable: !deterministic };
  }
  return { code: 'TASK_FAILED', message: messageOf(error), retryable: true };
}
