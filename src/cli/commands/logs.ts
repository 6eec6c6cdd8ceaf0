import type { Command } from 'commander';
import { DfmError } from '../../lib/errors.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

const FINAL = new Set(['success', 'failed', 'cancelled']);

export function registerLogsCommand(program: Command, context: CliContext): void {
  program
    .command('logs <run> [task]')
    .description("print a run's log (or one task's), oldest first; --follow keeps printing until the run ends")
    .option('-f, --follow', 'keep printing new lines until the run ends')
    .action(async (run: string, task: string | undefined, options: { follow?: boolean }) => {
      const runId = Number(run.replace(/^#/, ''));
      if (!Number.isSafeInteger(runId) || runId <= 0) throw new DfmError('USAGE', `A run id is a positive number, got "${run}"`);
      await withDatabase(context, async (pool) => {
        const exists = await pool.query<{ state: string }>('select state from dfm.run where id = $1', [runId]);
        if (exists.rows.length === 0) throw new DfmError('RUN_UNKNOWN', `No run ${runId}.`);
        let after = 0;
        for (;;) {
          const { rows } = await pool.query<{ id: string; at: Date; task_id: string | null; attempt: number | null; level: string; message: string }>(
            `select id, at, task_id, attempt, level, message from dfm.run_log where run_id = $1 and ($2::text is null or task_id = $2) and id > $3 order by id limit 5000`,
            [runId, task ?? null, after],
          );
          for (const r of rows) context.stdout.write(`${r.at.toISOString()} ${(r.task_id ?? '-').padEnd(20)} ${r.level.padEnd(5)} ${r.message}\n`);
          after = rows.length > 0 ? Number(rows.at(-1)!.id) : after;
          if (!options.follow) return;
          if (rows.length === 5000) continue;
          const state = (await pool.query<{ state: string }>('select state from dfm.run where id = $1', [runId])).rows[0]?.state;
          if (state === undefined || FINAL.has(state)) {
            // One last read: lines written in the run's last moments.
            const rest = await pool.query<{ at: Date; task_id: string | null; level: string; message: string }>(
              `select at, task_id, level, message from dfm.run_log where run_id = $1 and ($2::text is null or task_id = $2) and id > $3 order by id`,
              [runId, task ?? null, after],
            );
            for (const r of rest.rows) context.stdout.write(`${r.at.toISOString()} ${(r.task_id ?? '-').padEnd(20)} ${r.level.padEnd(5)} ${r.message}\n`);
            context.stdout.write(`run ${runId} ${state ?? 'gone'}\n`);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      });
    });
}
