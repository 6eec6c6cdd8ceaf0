/**
 * Claiming is one statement: pick up to `limit` ready task runs with FOR UPDATE SKIP LOCKED (so
 * concurrent workers never wait on each other or take the same row), count the attempt, stamp the
 * claim, and return what the worker needs to execute them, run details included.
 *
 * The same statement answers "which of these runs has nothing left to do?" for runs whose tasks
 * this worker just finished. Its snapshot is taken after those outcomes committed, which is what
 * closing a run safely needs (runs/settle-task-run.ts), and riding on the claim saves the round trip
 * and the transaction a separate check would cost per task (scheduler bench, C3).
 */
import { fromRow } from '../db/from-row.js';
import type { Queryable } from '../db/with-transaction.js';

export interface ClaimedTaskRun {
  readonly id: number;
  readonly runId: number;
  readonly taskId: string;
  readonly taskType: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly pipelineId: string;
  readonly versionId: number;
  readonly params: Record<string, unknown>;
  readonly triggerBody: unknown;
  readonly logicalTime: Date;
  readonly intervalStart: Date;
  readonly intervalEnd: Date;
  readonly startedAt: Date;
  /** When it became ready: startedAt − readyAt is the claim latency. */
  readonly readyAt: Date;
}

export interface ClaimResult {
  readonly claimed: ClaimedTaskRun[];
  /** Of the runs asked about, those with no pending, ready or running task run. */
  readonly runsWithoutOpenTasks: number[];
}

/** The claimed rows arrive through json_agg: bigint ids as numbers, timestamps as text. */
const CLAIMED_COLUMNS = ['id', 'run_id', 'task_id', 'task_type', 'attempt', 'max_attempts', 'pipeline_id', 'version_id', 'params', 'trigger_body', 'logical_time', 'interval_start', 'interval_end', 'started_at', 'ready_at'];
const CLAIMED_CONVERSIONS = { ids: ['id', 'run_id', 'version_id'], times: ['logical_time', 'interval_start', 'interval_end', 'started_at', 'ready_at'] };

export async function claimTaskRuns(client: Queryable, workerId: string, limit: number, checkRuns: readonly number[] = []): Promise<ClaimResult> {
  const { rows } = await client.query<{ claimed: Record<string, unknown>[]; done: string[] | null }>(
    `with picked as (
       select id from dfm.task_run
        where state = 'ready' and ready_at <= now()
        order by ready_at, id
        limit $2
        for update skip locked
     ), claimed as (
       update dfm.task_run t
          set state = 'running', attempt = t.attempt + 1, claimed_by = $1,
              claimed_at = now(), heartbeat_at = now(), started_at = now(), finished_at = null
         from picked, dfm.run r
        where t.id = picked.id and r.id = t.run_id
        returning t.id, t.run_id, t.task_id, t.task_type, t.attempt, t.max_attempts, t.started_at, t.ready_at,
                  r.pipeline_id, r.version_id, r.params, r.trigger_body, r.logical_time, r.interval_start, r.interval_end
     )
     select (select coalesce(json_agg(claimed), '[]'::json) from claimed) as claimed,
            (select array_agg(c.id) from unnest($3::bigint[]) as c(id)
              where not exists (select 1 from dfm.task_run o where o.run_id = c.id and o.state in ('pending', 'ready', 'running'))) as done`,
    [workerId, limit, checkRuns],
  );
  const row = rows[0]!;
  return {
    claimed: row.claimed.map((c) => fromRow<ClaimedTaskRun>(c, CLAIMED_COLUMNS, CLAIMED_CONVERSIONS)),
    runsWithoutOpenTasks: (row.done ?? []).map(Number),
  };
}
