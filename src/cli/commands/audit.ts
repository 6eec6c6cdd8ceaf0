import type { Command } from 'commander';
import { listAudit } from '../../audit/list-audit.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

export function registerAuditCommand(program: Command, context: CliContext): void {
  program
    .command('audit')
    .description('the audit trail, newest first: who changed what, through which surface, and how it ended')
    .option('-n, --limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--actor <actor>', 'only this actor (slack:<team>/<user>, cli:<user>, github:<id> …)')
    .option('--target <target>', 'only this pipeline, run:<id> or SHA')
    .option('--json', 'print JSON lines')
    .action(async (options: { limit: number; actor?: string; target?: string; json?: boolean }) => {
      await withDatabase(context, async (pool) => {
        const rows = await listAudit(pool, { limit: options.limit, ...(options.actor ? { actor: options.actor } : {}), ...(options.target ? { target: options.target } : {}) });
        if (options.json) {
          for (const row of rows) context.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        if (rows.length === 0) {
          context.stdout.write('no audit entries\n');
          return;
        }
        context.stdout.write(`${'AT'.padEnd(26)}${'ACTOR'.padEnd(30)}${'VIA'.padEnd(8)}${'ACTION'.padEnd(15)}${'TARGET'.padEnd(24)}${'OUTCOME'.padEnd(9)}DETAIL\n`);
        for (const r of rows) {
          context.stdout.write(`${r.at.toISOString().padEnd(26)}${r.actor.padEnd(30)}${r.via.padEnd(8)}${r.action.padEnd(15)}${(r.target ?? '-').padEnd(24)}${r.outcome.padEnd(9)}${JSON.stringify(r.detail)}\n`);
        }
      });
    });
}
