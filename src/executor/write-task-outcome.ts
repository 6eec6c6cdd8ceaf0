/**
 * Every write a worker makes about a task run it claimed is fenced on `claimed_by = me AND
 * attempt = n AND state = 'running'`: if the reaper gave the task to another worker, or the run
 * was cancelled, the write matches no row and changes nothing (graphile-worker's `locked_by`).
 *
 * A fenced write is told apart from the ambiguous commit (our own earlier write committed but we saw
 * an error): `outcomeOf` reads back what the row says about our attempt.
 */
import type { Queryable } from '../db/with-transaction.js';
import { TASK_READY_CHANNEL } from '../scheduler/start-queued-runs.js';
import { failDownstream, finishRunIfDone, promoteDownstream, type SettleResult } from './settle-task-run.js';

export interface Claim {
  readonly id: number;
  readonly runId: number;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
}

export interface TaskError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export type WriteResult = ({ readonly applied: true } & SettleResult) | { readonly applied: false };

export async function completeTaskRun(client: Queryable, claim: Claim, output: unknown): Promise<WriteResult> {
  const updated = await client.query(
    `update dfm.task_run set state = 'success', finished_at = now(), output = $5::jsonb, error = null
      where id = $1 and claimed_by = $2 and attempt = $3 and state = 'running' and run_id = $4`,
    [claim.id, claim.workerId, claim.attempt, claim.runId, JSON.stringify(output ?? null)],
  );
  if (updated.rowCount !== 1) return { applied: false };
  await recordAttempt(client, claim, 'success', null);
  const promoted = await promoteDownstream(client, claim.runId, claim.taskId);
  // The completing worker claims the next ready task itself; a fan-out also wakes the others.
  if (promoted > 1) await client.query(`select pg_notify('${TASK_READY_CHANNEL}', '')`);
  const finished = await finishRunIfDone(client, claim.runId);
  return { applied: true, promoted, ...(finished ? { runFinished: finished.state, pipelineId: finished.pipelineId } : {}) };
}

/**
 * A failed attempt: back to `ready` after `retryDelayMs` while attempts remain and the error is
 * retryable, otherwise `failed` for good, with everything downstream upstream_failed.
 */
export async function failTaskRun(client: Queryable, claim: Claim, error: TaskError, retryDelayMs: number): Promise<WriteResult & { retried?: boolean }> {
  const updated = await client.query<{ state: string }>(
    `update dfm.task_run
        set state = case when $5 and attempt < max_attempts then 'ready' else 'failed' end,
            ready_at = case when $5 and attempt < max_attempts then now() + make_interval(secs => $6::double precision / 1000) end,
            finished_at = case when $5 and attempt < max_attempts then null else now() end,
            error = $7::jsonb
      where id = $1 and claimed_by = $2 and attempt = $3 and state = 'running' and run_id = $4
      returning state`,
    [claim.id, claim.workerId, claim.attempt, claim.runId, error.retryable, retryDelayMs, JSON.stringify(error)],
  );
  const state = updated.rows[0]?.state;
  if (!state) return { applied: false };
  await recordAttempt(client, claim, 'failed', error);
  if (state === 'ready') return { applied: true, promoted: 0, retried: true };
  await failDownstream(client, claim.runId, claim.taskId);
  const finished = await finishRunIfDone(client, claim.runId);
  return { applied: true, promoted: 0, retried: false, ...(finished ? { runFinished: finished.state, pipelineId: finished.pipelineId } : {}) };
}

/** Gives claimed task runs back without counting the attempt (graceful shutdown). */
export async function releaseTaskRuns(client: Queryable, workerId: string, claims: readonly Pick<Claim, 'id' | 'attempt'>[]): Promise<number> {
  if (claims.length === 0) return 0;
  const { rowCount } = await client.query(
    `update dfm.task_run t set state = 'ready', ready_at = now(), attempt = t.attempt - 1, claimed_by = null, started_at = null
       from unnest($2::bigint[], $3::int[]) as c(id, attempt)
      where t.id = c.id and t.attempt = c.attempt and t.claimed_by = $1 and t.state = 'running'`,
    [workerId, claims.map((c) => c.id), claims.map((c) => c.attempt)],
  );
  return rowCount ?? 0;
}

/** Refreshes heartbeats; returns the ids still ours (the others were reaped or cancelled). */
export async function heartbeatTaskRuns(client: Queryable, workerId: string, claims: readonly Pick<Claim, 'id' | 'attempt'>[]): Promise<Set<number>> {
  if (claims.length === 0) return new Set();
  const { rows } = await client.query<{ id: string }>(
    `update dfm.task_run t set heartbeat_at = now()
       from unnest($2::bigint[], $3::int[]) as c(id, attempt)
      where t.id = c.id and t.attempt = c.attempt and t.claimed_by = $1 and t.state = 'running'
      returning t.id`,
    [workerId, claims.map((c) => c.id), claims.map((c) => c.attempt)],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

export type AttemptOutcome = 'running' | 'success' | 'failed' | 'retrying' | 'lost';

/** What the row says about this attempt, to resolve an ambiguous commit. */
export async function outcomeOf(client: Queryable, claim: Claim): Promise<AttemptOutcome> {
  const { rows } = await client.query<{ state: string; attempt: number; claimed_by: string | null }>(
    'select state, attempt, claimed_by from dfm.task_run where id = $1',
    [claim.id],
  );
  const row = rows[0];
  if (!row || row.claimed_by !== claim.workerId) return 'lost';
  if (row.attempt !== claim.attempt) return 'lost';
  if (row.state === 'success') return 'success';
  if (row.state === 'failed') return 'failed';
  if (row.state === 'ready') return 'retrying';
  if (row.state === 'running') return 'running';
  return 'lost';
}

async function recordAttempt(client: Queryable, claim: Claim, state: string, error: TaskError | null): Promise<void> {
  await client.query(
    `insert into dfm.task_attempt (task_run_id, attempt, worker, state, started_at, error)
     select id, attempt, claimed_by, $2, started_at, $3::jsonb from dfm.task_run where id = $1
     on conflict (task_run_id, attempt) do nothing`,
    [claim.id, state, error ? JSON.stringify(error) : null],
  );
}
