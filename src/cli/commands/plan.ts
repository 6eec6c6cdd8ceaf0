/** `dfm plan --repo <path> --base <ref> --head <ref>`: what merging head into base would change. */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { reportUsageError } from '../report-usage-error.js';
import { formatPlanMarkdown } from '../../pipeline/format-plan.js';
import { planChange } from '../../pipeline/plan-change.js';
import { readPipelinesAtRevision } from '../../git/read-pipelines-at-revision.js';
import type { CliContext } from '../cli-context.js';

interface PlanOptions {
  repo: string;
  base: string;
  head: string;
  format: 'markdown' | 'json';
  dir?: string;
  now?: string;
}

export function registerPlanCommand(program: Command, context: CliContext): void {
  program
    .command('plan')
    .description('Show what changes between two revisions: pipelines added, removed, renamed and changed, fire times, DAGs, diagnostics')
    .option('--repo <path>', 'git repository', '.')
    .requiredOption('--base <ref>', 'base revision (e.g. the default branch)')
    .requiredOption('--head <ref>', 'head revision (e.g. the pull request)')
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('--dir <path>', 'pipelines folder inside the repository (default: DFM_PIPELINES_DIR, "pipelines")')
    .option('--now <iso-time>', 'reference time of the fire-time previews (default: now), for reproducible output')
    .action(async (options: PlanOptions) => {
      const now = options.now === undefined ? new Date() : new Date(options.now);
      if (Number.isNaN(now.getTime())) {
        context.stderr.write(`dfm plan: --now "${options.now}" is not a time; use ISO-8601 such as 2025-03-28T12:00:00Z\n`);
        context.setExitCode(2);
        return;
      }
      const repo = path.resolve(context.cwd, options.repo);
      const dir = options.dir ?? context.config().pipelinesDir;
      let base, head;
      try {
        [base, head] = await Promise.all([readPipelinesAtRevision({ repo, ref: options.base, dir }), readPipelinesAtRevision({ repo, ref: options.head, dir })]);
      } catch (error) {
        if (reportUsageError(context, 'plan', error, ['GIT_REF_NOT_FOUND'])) return;
        throw error;
      }
      const plan = planChange(base, head, { now });
      context.stdout.write(options.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanMarkdown(plan));
      context.setExitCode(plan.summary.errors > 0 ? 1 : 0);
    });
}
