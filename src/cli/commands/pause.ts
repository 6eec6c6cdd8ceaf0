import type { Command } from 'commander';
import { recordAudit } from '../../audit/record-audit.js';
import { isDfmError } from '../../lib/errors.js';
import { setPipelinePaused } from '../../runs/set-pipeline-paused.js';
import type { CliContext } from '../cli-context.js';
import { cliActor } from '../cli-actor.js';
import { withDatabase } from '../with-database.js';

/** `dfm pause <pipeline>` and `dfm unpause <pipeline>`. */
export function registerPauseCommands(program: Command, context: CliContext): void {
  for (const paused of [true, false]) {
    const action = paused ? 'pause' : 'unpause';
    program
      .command(`${action} <pipeline>`)
      .description(paused ? 'stop scheduling a pipeline (manual runs still work)' : 'schedule a paused pipeline again, from now')
      .action(async (pipelineId: string) => {
        await withDatabase(context, async (pool) => {
          const actor = cliActor();
          try {
            const change = await setPipelinePaused(pool, pipelineId, paused, actor);
            await recordAudit(pool, { actor, via: 'cli', action, target: pipelineId, outcome: 'ok', detail: { changed: change.changed } });
            context.stdout.write(`${pipelineId} ${change.changed ? 'is now' : 'already was'} ${paused ? 'paused' : 'unpaused'}\n`);
          } catch (error) {
            await recordAudit(pool, { actor, via: 'cli', action, target: pipelineId, outcome: 'failed', detail: { code: isDfmError(error) ? error.code : 'INTERNAL_ERROR' } });
            throw error;
          }
        });
      });
  }
}
