import type { Config } from '../config/load-config.js';

/**
 * What every CLI command receives. Configuration is loaded lazily, so `dfm validate` works with no
 * database configured, and commands write to the given streams (tests capture them).
 */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config: () => Config;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly cwd: string;
  /** A command's outcome: 0 ok, 1 failure (e.g. validation errors), 2 usage error. */
  readonly setExitCode: (code: number) => void;
}

export type CliEnvironment = Omit<CliContext, 'setExitCode'>;
