import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

/** Every `dfm` sub-command. Add a command by writing commands/<name>.ts and listing it here. */
export function registerCommands(program: Command, context: CliContext): void {
  void program;
  void context;
}
