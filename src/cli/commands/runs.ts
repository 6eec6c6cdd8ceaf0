import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';
import { listRuns } from '../../runs/list-runs.js';

export function registerRunsCommand(program: Command, context: CliContext): void {
  program
    .command('runs [pipeline]')
    .description('list recent runs, newest first')
    .option('-n, --limit <n>', 'how many', (v) => Number.parseInt(v, 10), 20)
    .option('--json', 'print JSON lines')
    .action(async (pipelineId: string | undefined, options: { limit: number; json?: boolean }) => {
      await withDatabase(context, async (pool) => {
        const runs = await listRuns(pool, { ...(pipelineId ? { pipelineId } : {}), limit: options.limit });
        if (options.json) {
          for (const run of runs) context.stdout.write(`${JSON.stringify(run)}\n`);
          return;
        }
        if (runs.length === 0) {
          context.stdout.write('no runs yet\n');
          return;
        }
        context.stdout.write(`${'RUN'.padEnd(8)}${'PIPELINE'.padEnd(28)}${'STATE'.padEnd(11)}${'TRIGGER'.padEnd(10)}${'LOGICAL TIME'.padEnd(26)}${'TASKS'.padEnd(8)}COMMIT\n`);
        for (const r of runs) {
          context.stdout.write(`${String(r.id).padEnd(8)}${r.pipelineId.padEnd(28)}${r.state.padEnd(11)}${r.trigger.padEnd(10)}${r.logicalTime.toISOString().padEnd(26)}${`${r.tasksSucceeded}/${r.tasks}`.padEnd(8)}${r.sourceRef.startsWith('local:') ? r.sourceRef : r.sourceRef.slice(0, 12)}\n`);
        }
      });
    });
}
