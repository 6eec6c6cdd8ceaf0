import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { registerKafkaCommand } from './kafka.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServeCommand } from './serve.js';
import { registerValidateCommand } from './validate.js';

/** Every `dfm` sub-command. Add a command by writing commands/<name>.ts and listing it here. */
export function registerCommands(program: Command, context: CliContext): void {
  registerServeCommand(program, context);
  registerMigrateCommand(program, context);
  registerKafkaCommand(program, context);
  registerValidateCommand(program, context);
}
