/**
 * Starts a pipeline's queued runs, oldest logical time first, while fewer than max_active_runs are
 * running: their tasks whose `needs` all succeeded (for a new run: those without needs) become ready and workers are woken by NOTIFY (a low-rate
 * control transaction: one per started batch of runs, never one per task).
 *
 * The pipeline row is locked so two transactions closing runs at once cannot both fill the same
 * free slot. The lock is FOR NO KEY UPDATE, never FOR UPDATE: the caller has usually just inserted
 * a run, whose foreign key holds a KEY SHARE lock on the pipeline row, and FOR UPDATE conflicts with
 * KEY SHARE, so two transactions creating runs of one pipeline at once each waited for the other's
 * KEY SHARE ("deadlock detected" with three concurrent `dfm run`s). NO KEY UPDATE does not conflict
 * with KEY SHARE and still serializes the callers here. Every lock of a pipeline row takes it.
 */
import type { Queryable } from '../db/with-transaction.js';
import { notifyRunsChanged } from './run-channels.js';
import { reportRunStates } from './report-run-states.js';

/** `created`: runs this transaction created, announced with the ones it starts (one NOTIFY statement). */
export async function startQueuedRuns(client: Queryable, pipelineId: string, created: readonly number[] = []): Promise<number[]> {
  const pipeline = await client.query<{ max_active_runs: number; paused: boolean }>(
    'select max_active_runs, paused from dfm.pipeline where id = $1 for no key update',
    [pipelineId],
  );
  const row = pipeline.rows[0];
  if (!row || row.paused) {
    await notifyRunsChanged(client, created);
    return [];
  }
  const started = await client.query<{ id: string }>(
    `update dfm.run set state = 'running', started_at = now()
      where id in (select id from dfm.run
                    where pipeline_id = $1 and state = 'queued'
                    order by logical_time, id
                    limit greatest(0, $2 - (select count(*) from dfm.run where pipeline_id = $1 and state = 'running')))
      returning id`,
    [pipelineId, row.max_active_runs],
  );
  const ids = started.rows.map((r) => Number(r.id));
  if (ids.length === 0) {
    await notifyRunsChanged(client, created);
    return ids;
  }
  const ready = await client.query(
    `update dfm.task_run set state = 'ready', ready_at = now()
      where run_id = any($1::bigint[]) and state = 'pending'
        and (cardinality(needs) = 0
             -- a retried run (retry-run.ts): tasks whose needs succeeded in its earlier attempt
             or not exists (select 1 from dfm.task_run u
                             where u.run_id = task_run.run_id and u.task_id = any(task_run.needs) and u.state <> 'success'))`,
    [ids],
  );
  await notifyRunsChanged(client, [...created, ...ids], { tasksReady: (ready.rowCount ?? 0) > 0 });
  await reportRunStates(client, ids);
  return ids;
}
