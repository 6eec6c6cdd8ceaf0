import type { Command } from 'commander';
import { DfmError } from '../../lib/errors.js';
import { cancelRun } from '../../runs/cancel-run.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

export function registerCancelCommand(program: Command, context: CliContext): void {
  program
    .command('cancel <run>')
    .description('cancel a queued or running run')
    .action(async (run: string) => {
      const runId = Number(run);
      if (!Number.isSafeInteger(runId) || runId <= 0) throw new DfmError('USAGE', `A run id is a positive number, got "${run}"`);
      await withDatabase(context, async (pool) => {
        const { cancelledTasks } = await cancelRun(pool, runId, 'cli');
        context.stdout.write(`run ${runId} cancelled (${cancelledTasks} task run(s) stopped)\n`);
      });
    });
}
