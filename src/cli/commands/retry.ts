import type { Command } from 'commander';
import { recordAudit } from '../../audit/record-audit.js';
import { DfmError, isDfmError } from '../../lib/errors.js';
import { retryRun } from '../../runs/retry-run.js';
import type { CliContext } from '../cli-context.js';
import { cliActor } from '../cli-actor.js';
import { withDatabase } from '../with-database.js';

export function registerRetryCommand(program: Command, context: CliContext): void {
  program
    .command('retry <run>')
    .description('run the failed (and cancelled) tasks of a finished run again')
    .action(async (run: string) => {
      const runId = Number(run.replace(/^#/, ''));
      if (!Number.isSafeInteger(runId) || runId <= 0) throw new DfmError('USAGE', `A run id is a positive number, got "${run}"`);
      await withDatabase(context, async (pool) => {
        try {
          const retried = await retryRun(pool, runId);
          await recordAudit(pool, { actor: cliActor(), via: 'cli', action: 'retry', target: `run:${runId}`, outcome: 'ok', detail: { tasks: retried.tasks } });
          context.stdout.write(`run ${runId} retrying ${retried.tasks.join(', ')}${retried.started ? '' : ' (queued behind running runs or a pause)'}\n`);
        } catch (error) {
          await recordAudit(pool, { actor: cliActor(), via: 'cli', action: 'retry', target: `run:${runId}`, outcome: 'failed', detail: { code: isDfmError(error) ? error.code : 'INTERNAL_ERROR' } });
          throw error;
        }
      });
    });
}
