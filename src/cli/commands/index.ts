import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { registerBackfillCommand } from './backfill.js';
import { registerCancelCommand } from './cancel.js';
import { registerAuditCommand } from './audit.js';
import { registerListCommand } from './list.js';
import { registerLogsCommand } from './logs.js';
import { registerStatusCommand } from './status.js';
import { registerPauseCommands } from './pause.js';
import { registerRetryCommand } from './retry.js';
import { registerKafkaCommand } from './kafka.js';
import { registerMigrateCommand } from './migrate.js';
import { registerRunCommand } from './run.js';
import { registerRunsCommand } from './runs.js';
import { registerPlanCommand } from './plan.js';
import { registerServeCommand } from './serve.js';
import { registerSyncCommand } from './sync.js';
import { registerValidateCommand } from './validate.js';

/** Every `dfm` sub-command. Add a command by writing commands/<name>.ts and listing it here. */
export function registerCommands(program: Command, context: CliContext): void {
  registerServeCommand(program, context);
  registerMigrateCommand(program, context);
  registerRunCommand(program, context);
  registerRunsCommand(program, context);
  registerBackfillCommand(program, context);
  registerCancelCommand(program, context);
  registerRetryCommand(program, context);
  registerPauseCommands(program, context);
  registerAuditCommand(program, context);
  registerListCommand(program, context);
  registerStatusCommand(program, context);
  registerLogsCommand(program, context);
  registerKafkaCommand(program, context);
  registerValidateCommand(program, context);
  registerPlanCommand(program, context);
  registerSyncCommand(program, context);
}
