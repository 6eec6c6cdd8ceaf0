/**
 * `dfm sync`: sync every configured source now and print what happened (exit 1 when a source is
 * invalid, failed or held). `--status` shows the sources; `--confirm <sha>` applies the prune held
 * for that commit (recorded in the audit trail). The sync is a durable job like any other trigger:
 * this process claims it and runs it itself unless a worker got there first, in which case it
 * waits for that worker's result.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type pg from 'pg';
import { recordAudit } from '../../audit/record-audit.js';
import { DfmError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { claimJobs, readJob } from '../../jobs/job-queue.js';
import { jobWorkerId, runClaimedJob } from '../../jobs/start-job-runner.js';
import { createMetrics } from '../../metrics/create-metrics.js';
import { formatSyncStatus, getSyncStatus } from '../../sync/get-sync-status.js';
import { requestSync, SYNC_JOB } from '../../sync/request-sync.js';
import type { SyncResult } from '../../sync/run-sync.js';
import { syncJobHandlers } from '../../service/sync-job-handlers.js';
import { configuredSources, listSyncSources, upsertSyncSources } from '../../sync/sync-source.js';
import type { CliContext } from '../cli-context.js';
import { withDatabase } from '../with-database.js';

const REVISION = /^([0-9a-f]{40}([0-9a-f]{24})?|local:[0-9a-f]{12})$/;
const WAIT_FOR_WORKER_MS = 10 * 60_000;

export function registerSyncCommand(program: Command, context: CliContext): void {
  program
    .command('sync')
    .description('sync the pipelines from their Git repository (or folder) now; --status shows every source')
    .option('--status', 'show each source: active commit, last sync, a held prune')
    .option('--confirm <sha>', 'apply the sync held for this commit because it would pause many pipelines')
    .option('--source <id>', 'only this source (`dfm sync --status` lists them)')
    .option('--json', 'print JSON')
    .action(async (options: { status?: boolean; confirm?: string; source?: string; json?: boolean }) => {
      const config = context.config();
      if (options.confirm !== undefined && !REVISION.test(options.confirm.trim().toLowerCase())) {
        throw new DfmError('USAGE', `--confirm takes the full commit SHA that \`dfm sync --status\` shows as held, got "${options.confirm}"`);
      }
      await withDatabase(context, async (pool) => {
        if (options.status) {
          const statuses = await getSyncStatus(pool, { includeDisabled: true });
          context.stdout.write(options.json ? `${JSON.stringify({ sources: statuses }, null, 2)}\n` : formatSyncStatus(statuses));
          return;
        }
        await upsertSyncSources(pool, configuredSources(config));
        let sources = (await listSyncSources(pool, { enabledOnly: true })).filter((s) => options.source === undefined || s.id === options.source);
        const confirm = options.confirm?.trim().toLowerCase();
        if (confirm !== undefined) {
          sources = sources.filter((s) => s.heldPrune?.sha === confirm);
          if (sources.length === 0) {
            await recordAudit(pool, { actor: cliActor(), via: 'cli', action: 'confirm-prune', target: confirm, outcome: 'refused', detail: { reason: 'no sync is held for this commit' } });
            throw new DfmError('NOTHING_HELD', `No sync is held for ${confirm}; \`dfm sync --status\` shows what is held`);
          }
          for (const s of sources) await recordAudit(pool, { actor: cliActor(), via: 'cli', action: 'confirm-prune', target: confirm, outcome: 'ok', detail: { source: s.id, pause: s.heldPrune?.pause ?? [] } });
        }
        if (sources.length === 0) throw new DfmError('SYNC_SOURCE_UNKNOWN', options.source === undefined ? 'No sync source is configured' : `No enabled sync source "${options.source}"; \`dfm sync --status\` lists them`);

        const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr, config.logFormat);
        const metrics = createMetrics();
        const handlers = syncJobHandlers({ pool, config, logger, metrics });
        const results: SyncResult[] = [];
        for (const source of sources) {
          const job = await requestSync(pool, { sourceId: source.id, trigger: confirm === undefined ? 'cli' : 'confirm', ...(confirm === undefined ? {} : { confirm }) });
          results.push(await runOrAwait(pool, job.id, { handlers, logger, metrics }));
        }
        if (options.json) context.stdout.write(`${JSON.stringify({ syncs: results }, null, 2)}\n`);
        else for (const r of results) context.stdout.write(formatResult(r));
        if (results.some((r) => r.outcome === 'invalid' || r.outcome === 'failed' || r.outcome === 'held')) context.setExitCode(1);
      });
    });
}

async function runOrAwait(pool: pg.Pool, jobId: number, deps: { handlers: ReturnType<typeof syncJobHandlers>; logger: ReturnType<typeof createLogger>; metrics: ReturnType<typeof createMetrics> }): Promise<SyncResult> {
  const worker = jobWorkerId();
  const deadline = Date.now() + WAIT_FOR_WORKER_MS;
  for (;;) {
    const [claimed] = await claimJobs(pool, { worker, kinds: [SYNC_JOB], leaseMs: 60_000, limit: 1, id: jobId });
    if (claimed !== undefined) {
      const ran = await runClaimedJob({ pool, logger: deps.logger, metrics: deps.metrics, handlers: deps.handlers, leaseMs: 60_000, worker }, claimed);
      if (ran.outcome === 'done') return ran.result as SyncResult;
      throw new DfmError('SYNC_FAILED', `The sync failed: ${ran.error}${ran.outcome === 'retried' ? ' (a worker retries it; `dfm sync --status` shows the outcome)' : ''}`);
    }
    const job = await readJob(pool, jobId);
    if (job?.state === 'done') return job.result as SyncResult;
    if (job?.state === 'failed') throw new DfmError('SYNC_FAILED', `The sync failed: ${job.lastError}`);
    if (Date.now() > deadline) throw new DfmError('SYNC_TIMEOUT', `Sync job ${jobId} did not finish in ${WAIT_FOR_WORKER_MS / 60_000} minutes; \`dfm sync --status\` shows its progress`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function formatResult(r: SyncResult): string {
  const lines = [`${r.sourceId}: ${r.outcome} — ${r.summary} (${r.durationMs} ms)`];
  for (const e of r.errors) lines.push(`  ${e.file ? `${e.file}:${e.line ?? 1}:${e.column ?? 1} ` : ''}${e.code} ${e.message}`);
  return `${lines.join('\n')}\n`;
}

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
