/**
 * What happens after a task run reached a final state, in the same transaction:
 * - success: tasks whose `needs` all succeeded become ready now (not at the next poll);
 * - failure: everything downstream becomes upstream_failed (it can never run);
 * - when nothing in the run is left to do, the run gets its final state and the pipeline's queued
 *   runs may start (max_active_runs).
 *
 * The run row is locked only at the end, just before commit: two last tasks finishing together
 * both take it, so the one that commits second sees the other's final state and closes the run.
 */
import type { Queryable } from '../db/with-transaction.js';
import { startQueuedRuns } from '../scheduler/start-queued-runs.js';

export interface SettleResult {
  /** Task runs that became ready because of this one. */
  readonly promoted: number;
  /** The run's final state when this settle closed it. */
  readonly runFinished?: 'success' | 'failed';
  readonly pipelineId?: string;
}

export async function promoteDownstream(client: Queryable, runId: number, taskId: string): Promise<number> {
  // Two needs of one task finishing at once would each see the other still running and neither
  // promote it. Locking the waiting task runs first, then checking in a new statement (a fresh
  // READ COMMITTED snapshot), makes the second one see the first one's committed success.
  const waiting = await client.query(
    `select id from dfm.task_run where run_id = $1 and state = 'pending' and $2 = any(needs) order by id for update`,
    [runId, taskId],
  );
  if (waiting.rowCount === 0) return 0;
  const { rowCount } = await client.query(
    `update dfm.task_run d set state = 'ready', ready_at = now()
      where d.run_id = $1 and d.state = 'pending' and $2 = any(d.needs)
        and not exists (select 1 from dfm.task_run u
                         where u.run_id = d.run_id and u.task_id = any(d.needs) and u.state <> 'success')`,
    [runId, taskId],
  );
  return rowCount ?? 0;
}

export async function failDownstream(client: Queryable, runId: number, taskId: string): Promise<void> {
  await client.query(
    `with recursive downstream(task_id) as (
       select task_id from dfm.task_run where run_id = $1 and $2 = any(needs)
       union
       select t.task_id from dfm.task_run t join downstream d on d.task_id = any(t.needs) where t.run_id = $1
     )
     update dfm.task_run set state = 'upstream_failed', finished_at = now(),
            error = jsonb_build_object('code', 'UPSTREAM_FAILED', 'message', 'Not run: upstream task ' || $2 || ' failed')
      where run_id = $1 and state in ('pending', 'ready') and task_id in (select task_id from downstream)`,
    [runId, taskId],
  );
}

/** Closes the run when no task run is left to do; returns its final state if this call closed it. */
export async function finishRunIfDone(client: Queryable, runId: number): Promise<{ state: 'success' | 'failed'; pipelineId: string } | undefined> {
  const locked = await client.query<{ state: string; pipeline_id: string }>('select state, pipeline_id from dfm.run where id = $1 for update', [runId]);
  const run = locked.rows[0];
  if (!run || run.state !== 'running') return undefined;
  const { rows } = await client.query<{ open: number; failed: number }>(
    `select count(*) filter (where state in ('pending', 'ready', 'running'))::int as open,
            count(*) filter (where state in ('failed', 'upstream_failed', 'cancelled'))::int as failed
       from dfm.task_run where run_id = $1`,
    [runId],
  );
  const counts = rows[0]!;
  if (counts.open > 0) return undefined;
  const state = counts.failed > 0 ? 'failed' : 'success';
  await client.query(
    `update dfm.run set state = $2, finished_at = now(),
            error = case when $2 = 'failed' then 'Failed tasks: ' || (select string_agg(task_id, ', ' order by task_id) from dfm.task_run where run_id = $1 and state in ('failed', 'cancelled')) end
      where id = $1`,
    [runId, state],
  );
  await startQueuedRuns(client, run.pipeline_id);
  return { state, pipelineId: run.pipeline_id };
}
