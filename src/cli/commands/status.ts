import type { Command } from 'commander';
import { DfmError } from '../../lib/errors.js';
import { getRunStatus } from '../../runs/get-run-status.js';
import { listRuns } from '../../runs/list-runs.js';
import { loadActivePipeline } from '../../runs/load-active-pipeline.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

export function registerStatusCommand(program: Command, context: CliContext): void {
  program
    .command('status <pipeline-or-run>')
    .description("a run's tasks (a number), or a pipeline's latest runs (an id)")
    .option('--json', 'print JSON')
    .action(async (target: string, options: { json?: boolean }) => {
      await withDatabase(context, async (pool) => {
        const runMatch = /^#?(\d{1,15})$/.exec(target);
        if (runMatch) {
          const runId = Number(runMatch[1]);
          const run = await getRunStatus(pool, runId);
          if (!run) throw new DfmError('RUN_UNKNOWN', `No run ${runId}.`);
          if (options.json) {
            context.stdout.write(`${JSON.stringify(run)}\n`);
            return;
          }
          context.stdout.write(`run ${run.id} ${run.pipelineId} ${run.state} (${run.trigger}, logical time ${run.logicalTime.toISOString()}, ${run.sourceRef.startsWith('local:') ? run.sourceRef : run.sourceRef.slice(0, 12)})\n`);
          for (const t of run.tasks) {
            context.stdout.write(`  ${t.taskId.padEnd(24)}${t.state.padEnd(16)}attempt ${t.attempt}/${t.maxAttempts}${t.error ? `  ${t.error.code}: ${t.error.message.split('\n')[0]}` : ''}\n`);
          }
          return;
        }
        const active = await loadActivePipeline(pool, target);
        const runs = await listRuns(pool, { pipelineId: target, limit: 10 });
        if (options.json) {
          context.stdout.write(`${JSON.stringify({ id: target, paused: active.paused, sourceRef: active.sourceRef, file: active.file, runs })}\n`);
          return;
        }
        context.stdout.write(`${target}${active.paused ? ' (paused)' : ''} from ${active.file} at ${active.sourceRef.startsWith('local:') ? active.sourceRef : active.sourceRef.slice(0, 12)}\n`);
        if (runs.length === 0) context.stdout.write('  no runs yet\n');
        for (const r of runs) context.stdout.write(`  ${String(r.id).padEnd(8)}${r.state.padEnd(11)}${r.trigger.padEnd(10)}${r.createdAt.toISOString().padEnd(26)}${r.tasksSucceeded}/${r.tasks} tasks\n`);
      });
    });
}
