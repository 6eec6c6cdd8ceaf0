import type { Command } from 'commander';
import { DfmError } from '../../lib/errors.js';
import { planBackfill } from '../../pipeline/plan-backfill.js';
import { backfillRuns } from '../../runs/backfill-runs.js';
import { FINAL_RUN_STATES } from '../../runs/get-run-status.js';
import { loadActivePipeline } from '../../runs/load-active-pipeline.js';
import type { CliContext } from '../cli-context.js';
import { readThroughOutages } from '../read-through-outages.js';
import { withDatabase } from '../with-database.js';
import { parseParamFlags } from './run.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function parseTime(flag: string, value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new DfmError('USAGE', `${flag} must be an ISO-8601 time such as 2026-01-01 or 2026-01-01T00:00:00Z, got "${value}"`);
  return date;
}

export function registerBackfillCommand(program: Command, context: CliContext): void {
  program
    .command('backfill <pipeline>')
    .description('create one run per schedule interval between --from and --to (never a duplicate of a scheduled run)')
    .requiredOption('--from <time>', 'first fire time to include (ISO-8601)')
    .requiredOption('--to <time>', 'last fire time to include (ISO-8601)')
    .option('-p, --param <key=value>', 'a run param (repeatable)', collect, [])
    .option('--dry-run', 'list the intervals without creating runs')
    .option('--no-wait', 'return once the runs are created')
    .action(async (pipelineId: string, options: { from: string; to: string; param: string[]; dryRun?: boolean; wait: boolean }) => {
      const from = parseTime('--from', options.from);
      const to = parseTime('--to', options.to);
      const params = parseParamFlags(options.param);
      await withDatabase(context, async (pool) => {
        if (options.dryRun) {
          const { pipeline } = await loadActivePipeline(pool, pipelineId);
          const fires = planBackfill(pipeline, from, to);
          for (const f of fires) context.stdout.write(`${f.logicalTime.toISOString()}  interval [${f.intervalStart.toISOString()}, ${f.intervalEnd.toISOString()})\n`);
          context.stdout.write(`${fires.length} interval(s) would be backfilled (dry run: nothing created)\n`);
          return;
        }
        const result = await backfillRuns(pool, { pipelineId, from, to, params, requestedBy: 'cli' });
        context.stdout.write(`created ${result.created.length} run(s)${result.existing > 0 ? `, ${result.existing} interval(s) already had a run` : ''}\n`);
        if (!options.wait || result.created.length === 0) return;
        const ids = result.created.map((c) => c.runId);
        const tty = Boolean((context.stdout as NodeJS.WriteStream).isTTY);
        let failed = 0;
        const read = readThroughOutages({
          boundMs: context.config().reconnectTimeoutMs,
          following: `the ${ids.length} backfill run(s)`,
          notify: (line) => context.stderr.write(`${tty ? '\n' : ''}${line}\n`),
        });
        for (;;) {
          const { rows } = await read(() => pool.query<{ state: string; n: number }>('select state, count(*)::int as n from dfm.run where id = any($1::bigint[]) group by state', [ids]));
          const done = rows.filter((r) => (FINAL_RUN_STATES as readonly string[]).includes(r.state)).reduce((a, r) => a + r.n, 0);
          failed = rows.filter((r) => r.state === 'failed' || r.state === 'cancelled').reduce((a, r) => a + r.n, 0);
          const width = 30;
          const filled = Math.round((done / ids.length) * width);
          const line = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${ids.length} runs done${failed > 0 ? `, ${failed} failed` : ''}`;
          context.stdout.write(tty ? `\r${line}` : `${line}\n`);
          if (done === ids.length) break;
          await new Promise((r) => setTimeout(r, tty ? 300 : 2000));
        }
        if (tty) context.stdout.write('\n');
        context.setExitCode(failed > 0 ? 1 : 0);
      });
    });
}
