/**
 * Every write a worker makes about a task run it claimed is fenced on `claimed_by = me AND
 * attempt = n AND state = 'running'`: if the reaper gave the task to another worker, or the run
 * was cancelled, the write matches no row and changes nothing (graphile-worker's `locked_by`).
 *
 * An outcome is one statement (the fenced update and its attempt record, as one CTE) when nothing
 * downstream needs promoting or failing, so a leaf task costs one round trip and one commit; with
 * dependents, one transaction adds the promotion. The run is closed after commit (runs/settle-task-run.ts).
 *
 * A fenced write is told apart from the ambiguous commit (our own earlier write committed but we saw
 * an error): `outcomeOf` reads back what the row says about our attempt.
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/with-transaction.js';
import { failDownstream, promoteDownstream } from '../runs/settle-task-run.js';

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

export interface WriteResult {
  /** False when the fence rejected the write (the claim was taken over or the run cancelled). */
  readonly applied: boolean;
  /** Task runs that became ready because of this one. */
  readonly promoted: number;
  /** The task run went back to ready for another attempt. */
  readonly retried?: boolean;
}

const FENCE = `id = $1 and claimed_by = $2 and attempt = $3 and state = 'running' and run_id = $4`;

const RECORD_ATTEMPT = `
  recorded as (
    insert into dfm.task_attempt (task_run_id, attempt, worker, state, started_at, error)
    select id, attempt, claimed_by, $5, started_at, error from written
    on conflict (task_run_id, attempt) do nothing)`;

/** Marks the attempt succeeded and promotes what waited on it. `client` may be a pool (no dependents). */
async function writeSuccess(client: Queryable, claim: Claim, output: unknown, downstream: readonly string[] | undefined): Promise<WriteResult> {
  const { rows } = await client.query<{ applied: number }>(
    `with written as (
       update dfm.task_run set state = 'success', finished_at = now(), output = $6::jsonb, error = null
        where ${FENCE}
        returning id, attempt, claimed_by, started_at, null::jsonb as error),
     ${RECORD_ATTEMPT}
     select count(*)::int as applied from written`,
    [claim.id, claim.workerId, claim.attempt, claim.runId, 'success', JSON.stringify(output ?? null)],
  );
  if (rows[0]?.applied !== 1) return { applied: false, promoted: 0 };
  return { applied: true, promoted: await promoteDownstream(client, claim.runId, claim.taskId, downstream) };
}

/**
 * Completes an attempt inside a transaction the caller owns (a task whose own writes commit with
 * its success).
 */
export function completeTaskRunIn(client: pg.PoolClient, claim: Claim, output: unknown, downstream?: readonly string[]): Promise<WriteResult> {
  return writeSuccess(client, claim, output, downstream);
}

/** Completes an attempt: one statement for a task nothing depends on, one transaction otherwise. */
export function completeTaskRun(pool: pg.Pool, claim: Claim, output: unknown, downstream?: readonly string[]): Promise<WriteResult> {
  if (downstream && downstream.length === 0) return writeSuccess(pool, claim, output, downstream);
  return withTransaction(pool, (client) => writeSuccess(client, claim, output, downstream));
}

/**
 * A failed attempt: back to `ready` after `retryDelayMs` while attempts remain and the error is
 * retryable, otherwise `failed` for good, with everything downstream upstream_failed.
 */
export function failTaskRun(pool: pg.Pool, claim: Claim, error: TaskError, retryDelayMs: number, downstream?: readonly string[]): Promise<WriteResult> {
  return withTransaction(pool, (client) => failTaskRunIn(client, claim, error, retryDelayMs, downstream));
}

export async function failTaskRunIn(client: Queryable, claim: Claim, error: TaskError, retryDelayMs: number, downstream?: readonly string[]): Promise<WriteResult> {
  const { rows } = await client.query<{ state: string }>(
    `with written as (
       update dfm.task_run
          set state = case when $7 and attempt < max_attempts then 'ready' else 'failed' end,
              ready_at = case when $7 and attempt < max_attempts then now() + make_interval(secs => $8::double precision / 1000) end,
              finished_at = case when $7 and attempt < max_attempts then null else now() end,
              error = $6::jsonb
        where ${FENCE}
        returning id, attempt, claimed_by, started_at, error, state),
     ${RECORD_ATTEMPT}
     select state from written`,
    [claim.id, claim.workerId, claim.attempt, claim.runId, 'failed', JSON.stringify(error), error.retryable, retryDelayMs],
  );
  const state = rows[0]?.state;
  if (!state) return { applied: false, promoted: 0 };
  if (state === 'ready') return { applied: true, promoted: 0, retried: true };
  if (!downstream || downstream.length > 0) await failDownstream(client, claim.runId, claim.taskId);
  return { applied: true, promoted: 0, retried: false };
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

/**
 * Refreshes heartbeats. Returns the ids that are no longer this worker's running attempts
 * (reaped or cancelled); rows that finished meanwhile are not reported as lost.
 */
export async function heartbeatTaskRuns(client: Queryable, workerId: string, claims: readonly Pick<Claim, 'id' | 'attempt'>[]): Promise<Set<number>> {
  if (claims.length === 0) return new Set();
  const { rows } = await client.query<{ id: string }>(
    `with beat as (
       update dfm.task_run t set heartbeat_at = now()
         from unnest($2::bigint[], $3::int[]) as c(id, attempt)
        where t.id = c.id and t.attempt = c.attempt and t.claimed_by = $1 and t.state = 'running'
        returning t.id)
     select t.id from dfm.task_run t join unnest($2::bigint[], $3::int[]) as c(id, attempt) on t.id = c.id
      where t.id not in (select id from beat)
        and not (t.attempt = c.attempt and t.claimed_by = $1 and t.state in ('success', 'failed'))`,
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
  if (!row || row.claimed_by !== claim.workerId || row.attempt !== claim.attempt) return 'lost';
  if (row.state === 'success') return 'success';
  if (row.state === 'failed') return 'failed';
  if (row.state === 'ready') return 'retrying';
  if (row.state === 'running') return 'running';
  return 'lost';
}
