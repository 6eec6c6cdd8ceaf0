import { isDfmError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';

/**
 * A command's usage errors (a path or git ref the user named that does not exist) exit 2 with the
 * message alone; every other error is the caller's to rethrow (exit 1 from runCli). True when the
 * error was reported.
 */
export function reportUsageError(context: CliContext, command: string, error: unknown, usageCodes: readonly string[]): boolean {
  if (!isDfmError(error) || !usageCodes.includes(error.code)) return false;
  context.stderr.write(`dfm ${command}: ${error.message}\n`);
  context.setExitCode(2);
  return true;
}
