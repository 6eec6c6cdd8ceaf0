/**
 * Retries a run that ended failed or cancelled: only its tasks that did not succeed (failed,
 * cancelled, and the upstream_failed ones below them) run again, each with its full number of
 * attempts; the succeeded ones keep their outputs. The run goes back to queued and starts as any
 * queued run does (max_active_runs, not while the pipeline is paused), with the version it ran.
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import { effectiveTaskSettings } from '../pipeline/effective-task-settings.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { startQueuedRuns } from './start-queued-runs.js';

export interface RetriedRun {
  readonly runId: number;
  readonly pipelineId: string;
  /** The tasks that will run again, in the run's task order. */
  readonly tasks: string[];
  /** Whether the run started at once (false: queued behind max_active_runs or a pause). */
  readonly started: boolean;
}

/** `within` runs in the retry's transaction before it commits (the audit row). */
export async function retryRun(pool: pg.Pool, runId: number, within?: (client: pg.PoolClient, retried: RetriedRun) => Promise<void>): Promise<RetriedRun> {
  return withTransaction(pool, async (client) => {
    const run = await client.query<{ state: string; pipeline_id: string; definition: Pipeline }>(
      `select r.state, r.pipeline_id, v.definition from dfm.run r join dfm.pipeline_version v on v.id = r.version_id
        where r.id = $1 for update of r`,
      [runId],
    );
    const row = run.rows[0];
    if (!row) throw new DfmError('RUN_UNKNOWN', `No run ${runId}.`);
    if (row.state === 'success') throw new DfmError('RUN_SUCCEEDED', `Run ${runId} succeeded; there is nothing to retry (start a new run instead).`);
    if (row.state !== 'failed' && row.state !== 'cancelled') {
      throw new DfmError('RUN_NOT_FINISHED', `Run ${runId} is still ${row.state}; retry it once it has failed, or cancel it first.`);
    }
    const tries = row.definition.tasks.map((task) => ({ task_id: task.id, tries: effectiveTaskSettings(row.definition, task.id).retries + 1 }));
    const reset = await client.query<{ task_id: string }>(
      `update dfm.task_run t
          set state = 'pending', ready_at = null, claimed_by = null, claimed_at = null, heartbeat_at = null,
              started_at = null, finished_at = null, error = null, output = null,
              max_attempts = t.attempt + coalesce(x.tries, 1)
         from (select * from jsonb_to_recordset($2::jsonb) as x(task_id text, tries int)) x
        where t.run_id = $1 and x.task_id = t.task_id and t.state in ('failed', 'cancelled', 'upstream_failed')
        returning t.task_id, t.id`,
      [runId, JSON.stringify(tries)],
    );
    if (reset.rowCount === 0) throw new DfmError('RUN_NOTHING_TO_RETRY', `Run ${runId} has no failed or cancelled task to retry.`);
    await client.query(`update dfm.run set state = 'queued', finished_at = null, error = null where id = $1`, [runId]);
    const started = await startQueuedRuns(client, row.pipeline_id, [runId]);
    const order = new Map(row.definition.tasks.map((task, index) => [task.id, index]));
    const tasks = reset.rows.map((r) => r.task_id).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const retried = { runId, pipelineId: row.pipeline_id, tasks, started: started.includes(runId) };
    await within?.(client, retried);
    return retried;
  });
}
