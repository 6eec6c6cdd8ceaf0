/** The `dfm` command line as a function of argv and streams, so tests run it in-process. */
import { Command, CommanderError } from 'commander';
import { isDfmError, messageOf } from '../lib/errors.js';
import type { CliContext, CliEnvironment } from './cli-context.js';
import { registerCommands } from './commands/index.js';

export function buildProgram(context: CliContext): Command {
  const program = new Command('dfm')
    .description('dfm: Git-driven pipelines on Kafka and PostgreSQL')
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => context.stdout.write(s),
      writeErr: (s) => context.stderr.write(s),
    })
    .exitOverride();
  registerCommands(program, context);
  return program;
}

/** Runs the CLI and returns the process exit code: 0 ok, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  let exitCode = 0;
  const context: CliContext = { ...environment, setExitCode: (code) => { exitCode = code; } };
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      return 2;
    }
    context.stderr.write(`dfm: ${isDfmError(error) ? `${error.message} [${error.code}]` : messageOf(error)}\n`);
    return 1;
  }
}
