import type { Command } from 'commander';
import type pg from 'pg';
import { DfmError } from '../../lib/errors.js';
import { FINAL_RUN_STATES, getRunStatus, type RunStatus } from '../../runs/get-run-status.js';
import { triggerRun } from '../../runs/trigger-run.js';
import type { CliContext } from '../cli-context.js';
import { readThroughOutages } from '../read-through-outages.js';
import { withDatabase } from '../with-database.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function parseParamFlags(flags: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new DfmError('USAGE', `--param takes key=value, got "${flag}"`);
    params[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return params;
}

export function registerRunCommand(program: Command, context: CliContext): void {
  program
    .command('run <pipeline>')
    .description('start a manual run of a pipeline')
    .option('-p, --param <key=value>', 'a run param (repeatable); converted to the declared type', collect, [])
    .option('-w, --wait', 'follow the run until it ends (through database restarts, up to DFM_RECONNECT_TIMEOUT_MS); exit 1 unless it succeeds')
    .option('--json', 'print the run as JSON')
    .action(async (pipelineId: string, options: { param: string[]; wait?: boolean; json?: boolean }) => {
      const params = parseParamFlags(options.param);
      await withDatabase(context, async (pool) => {
        const { runId } = await triggerRun(pool, { pipelineId, params, paramsFromText: true, requestedBy: 'cli' });
        if (!options.json) context.stdout.write(`run ${runId} of ${pipelineId} queued\n`);
        if (!options.wait) {
          if (options.json) context.stdout.write(`${JSON.stringify(await getRunStatus(pool, runId))}\n`);
          return;
        }
        const final = await followRun(pool, runId, context, options.json ?? false);
        if (options.json) context.stdout.write(`${JSON.stringify(final)}\n`);
        context.setExitCode(final.state === 'success' ? 0 : 1);
      });
    });
}

const SYMBOL: Record<string, string> = { pending: '·', ready: '○', running: '▶', success: '✔', failed: '✖', cancelled: '⊘', upstream_failed: '↯' };

/** Polls the run and shows task states: redrawn in place on a TTY, one line per change otherwise. */
export async function followRun(pool: pg.Pool, runId: number, context: CliContext, quiet: boolean): Promise<RunStatus> {
  const tty = Boolean((context.stdout as NodeJS.WriteStream).isTTY) && !quiet;
  const seen = new Map<string, string>();
  let drawn = 0;
  const read = readThroughOutages({
    boundMs: context.config().reconnectTimeoutMs,
    following: `run ${runId}`,
    notify: (line) => {
      context.stderr.write(`${line}\n`);
      drawn = 0; // the task lines are drawn afresh below the notice
    },
  });
  for (;;) {
    const status = await read(() => getRunStatus(pool, runId));
    if (!status) throw new DfmError('RUN_UNKNOWN', `Run ${runId} disappeared`);
    if (!quiet) {
      if (tty) {
        if (drawn > 0) context.stdout.write(`\x1b[${drawn}A`);
        const lines = status.tasks.map((t) => `\x1b[2K  ${SYMBOL[t.state] ?? '?'} ${t.taskId.padEnd(24)} ${t.state}${t.attempt > 1 ? ` (attempt ${t.attempt}/${t.maxAttempts})` : ''}${t.error && t.state !== 'success' ? `  ${t.error.message.slice(0, 80)}` : ''}`);
        context.stdout.write(`${lines.join('\n')}\n`);
        drawn = lines.length;
      } else {
        for (const t of status.tasks) {
          const key = `${t.state}/${t.attempt}`;
          if (seen.get(t.taskId) !== key) {
            seen.set(t.taskId, key);
            if (t.state !== 'pending') context.stdout.write(`${t.taskId}: ${t.state}${t.attempt > 1 ? ` (attempt ${t.attempt})` : ''}${t.error && t.state !== 'success' ? ` — ${t.error.message}` : ''}\n`);
          }
        }
      }
    }
    if (FINAL_RUN_STATES.includes(status.state)) {
      if (!quiet) context.stdout.write(`run ${runId} ${status.state}${status.error ? `: ${status.error}` : ''}\n`);
      return status;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
