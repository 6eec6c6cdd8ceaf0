/**
 * What follows a task run's final state:
 * - success: tasks whose `needs` all succeeded become ready now, in the same transaction;
 * - failure: everything downstream becomes upstream_failed (it can never run), same transaction;
 * - after commit, when nothing in the run is left to do, the run is closed and the pipeline's
 *   queued runs may start (max_active_runs).
 *
 * Closing happens after the outcome committed, not inside it: locking the run row in every
 * completion made all completions of a run wait on each other until commit (the scheduler bench
 * measured 0.25× graphile-worker's throughput on 50,000 tasks, 7 of 10 connections waiting on that
 * lock). After commit, a fresh snapshot sees every completion committed before; the last one to
 * commit therefore sees nothing open and closes the run. Two that both see nothing open race on
 * the run lock, and the second finds the run closed. A crash between commit and close is mended by
 * the reaper's sweep (closeFinishedRuns).
 */
import type pg from 'pg';
import type { Queryable } from '../db/with-transaction.js';
import { withTransaction } from '../db/with-transaction.js';
import { notifyRunFinished, notifyTaskReady } from './run-channels.js';
import { reportRunStates } from './report-run-states.js';
import { startQueuedRuns } from './start-queued-runs.js';

/**
 * Promotes the downstream task runs whose needs all succeeded. `downstream` is the ids of the
 * tasks that need this one (from the cached pipeline version); undefined falls back to reading the
 * run's `needs` arrays.
 */
export async function promoteDownstream(client: Queryable, runId: number, taskId: string, downstream?: readonly string[]): Promise<number> {
  if (downstream && downstream.length === 0) return 0;
  // Two needs of one task finishing at once would each see the other still running and neither
  // promote it. Locking the waiting task runs first, then checking in a new statement (a fresh
  // READ COMMITTED snapshot), makes the second one see the first one's committed success.
  const waiting = await client.query<{ id: string }>(
    downstream
      ? `select id from dfm.task_run where run_id = $1 and task_id = any($2::text[]) and state = 'pending' order by id for update`
      : `select id from dfm.task_run where run_id = $1 and state = 'pending' and $2 = any(needs) order by id for update`,
    [runId, downstream ?? taskId],
  );
  if (waiting.rowCount === 0) return 0;
  const { rowCount } = await client.query(
    `update dfm.task_run d set state = 'ready', ready_at = now()
      where d.id = any($2::bigint[]) and d.state = 'pending'
        and not exists (select 1 from dfm.task_run u
                         where u.run_id = $1 and u.task_id = any(d.needs) and u.state <> 'success')`,
    [runId, waiting.rows.map((r) => r.id)],
  );
  const promoted = rowCount ?? 0;
  // The completing worker claims the next ready task itself; a fan-out also wakes the others.
  if (promoted > 1) await notifyTaskReady(client);
  return promoted;
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

export interface ClosedRun {
  readonly state: 'success' | 'failed';
  readonly pipelineId: string;
  readonly trigger: string;
  /** From the run's start (its creation if it never started) to now. */
  readonly seconds: number;
}

/** Closes the run when no task run is left to do (call after the outcome committed). */
export async function closeRunIfDone(pool: pg.Pool, runId: number): Promise<ClosedRun | undefined> {
  const { rows } = await pool.query<{ open: boolean }>(
    `select exists (select 1 from dfm.task_run where run_id = $1 and state in ('pending', 'ready', 'running')) as open`,
    [runId],
  );
  if (rows[0]?.open) return undefined;
  return withTransaction(pool, (client) => finishRun(client, runId));
}

/** Closes a running run that has no open task runs; the caller's transaction. */
export async function finishRun(client: Queryable, runId: number): Promise<ClosedRun | undefined> {
  const locked = await client.query<{ pipeline_id: string; trigger: string; seconds: number }>(
    "select pipeline_id, trigger, extract(epoch from clock_timestamp() - coalesce(started_at, created_at))::float8 as seconds from dfm.run where id = $1 and state = 'running' for update",
    [runId],
  );
  const run = locked.rows[0];
  if (!run) return undefined;
  const { rows } = await client.query<{ open: boolean; failed: string | null }>(
    `select exists (select 1 from dfm.task_run where run_id = $1 and state in ('pending', 'ready', 'running')) as open,
            (select string_agg(task_id, ', ' order by task_id) from dfm.task_run where run_id = $1 and state in ('failed', 'cancelled')) as failed`,
    [runId],
  );
  const { open, failed } = rows[0]!;
  if (open) return undefined;
  const state = failed ? 'failed' : 'success';
  await client.query(`update dfm.run set state = $2, finished_at = now(), error = $3 where id = $1`, [runId, state, failed ? `Failed tasks: ${failed}` : null]);
  await notifyRunFinished(client, runId);
  await reportRunStates(client, [runId]);
  await startQueuedRuns(client, run.pipeline_id);
  return { state, pipelineId: run.pipeline_id, trigger: run.trigger, seconds: run.seconds };
}

/** The sweep: closes running runs left open by a crash between a completion and its close. */
export async function closeFinishedRuns(pool: pg.Pool, limit = 100): Promise<ClosedRun[]> {
  const { rows } = await pool.query<{ id: string }>(
    `select r.id from dfm.run r
      where r.state = 'running'
        and not exists (select 1 from dfm.task_run t where t.run_id = r.id and t.state in ('pending', 'ready', 'running'))
      limit $1`,
    [limit],
  );
  const closed: ClosedRun[] = [];
  for (const { id } of rows) {
    const result = await withTransaction(pool, (client) => finishRun(client, Number(id)));
    if (result) closed.push(result);
  }
  return closed;
}
