import type { Command } from 'commander';
import { describeSchedule } from '../../pipeline/describe-schedule.js';
import { nextFireTimes } from '../../pipeline/schedule.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

export function registerListCommand(program: Command, context: CliContext): void {
  program
    .command('list')
    .description('list the pipelines: schedule, next fire, last run, paused')
    .option('--json', 'print JSON lines')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(context, async (pool) => {
        const { rows } = await pool.query<{ id: string; paused: boolean; schedule: string | null; timezone: string | null; last_id: string | null; last_state: string | null }>(
          `select p.id, p.paused, v.definition->>'schedule' as schedule, v.definition->>'timezone' as timezone, l.id as last_id, l.state as last_state
             from dfm.pipeline p
             join dfm.pipeline_version v on v.id = p.active_version_id
             left join lateral (select r.id, r.state from dfm.run r where r.pipeline_id = p.id order by r.id desc limit 1) l on true
            order by p.id`,
        );
        const now = new Date();
        const pipelines = rows.map((r) => {
          let next: string | null = null;
          if (r.schedule && !r.paused) {
            try {
              next = nextFireTimes(r.schedule, r.timezone ?? 'UTC', now, 1)[0]?.toISOString() ?? null;
            } catch {
              next = null;
            }
          }
          return { id: r.id, paused: r.paused, schedule: r.schedule, scheduleInWords: r.schedule ? describeSchedule(r.schedule) : 'manual', timezone: r.timezone ?? 'UTC', nextFire: next, lastRun: r.last_id === null ? null : { id: Number(r.last_id), state: r.last_state } };
        });
        if (options.json) {
          for (const p of pipelines) context.stdout.write(`${JSON.stringify(p)}\n`);
          return;
        }
        if (pipelines.length === 0) {
          context.stdout.write('no pipelines yet\n');
          return;
        }
        context.stdout.write(`${'PIPELINE'.padEnd(28)}${'SCHEDULE'.padEnd(28)}${'NEXT FIRE'.padEnd(26)}${'LAST RUN'.padEnd(22)}PAUSED\n`);
        for (const p of pipelines) {
          context.stdout.write(`${p.id.padEnd(28)}${p.scheduleInWords.padEnd(28)}${(p.nextFire ?? '-').padEnd(26)}${(p.lastRun ? `${p.lastRun.id} ${p.lastRun.state}` : '-').padEnd(22)}${p.paused ? 'yes' : 'no'}\n`);
        }
      });
    });
}
