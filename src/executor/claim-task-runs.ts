/**
 * Claiming is one statement: pick up to `limit` ready task runs with FOR UPDATE SKIP LOCKED (so
 * concurrent workers never wait on each other or take the same row), count the attempt, stamp the
 * claim, and return what the worker needs to execute them, run details included.
 */
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
  readonly logicalTime: Date;
  readonly intervalStart: Date;
  readonly intervalEnd: Date;
  readonly startedAt: Date;
}

export async function claimTaskRuns(client: Queryable, workerId: string, limit: number): Promise<ClaimedTaskRun[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `with picked as (
       select id from dfm.task_run
        where state = 'ready' and ready_at <= now()
        order by ready_at, id
        limit $2
        for update skip locked
     )
     update dfm.task_run t
        set state = 'running', attempt = t.attempt + 1, claimed_by = $1,
            claimed_at = now(), heartbeat_at = now(), started_at = now(), finished_at = null
       from picked, dfm.run r
      where t.id = picked.id and r.id = t.run_id
      returning t.id, t.run_id, t.task_id, t.task_type, t.attempt, t.max_attempts, t.started_at,
                r.pipeline_id, r.version_id, r.params, r.logical_time, r.interval_start, r.interval_end`,
    [workerId, limit],
  );
  return rows.map((row) => ({
    id: Number(row['id']),
    runId: Number(row['run_id']),
    taskId: row['task_id'] as string,
    taskType: row['task_type'] as string,
    attempt: row['attempt'] as number,
    maxAttempts: row['max_attempts'] as number,
    pipelineId: row['pipeline_id'] as string,
    versionId: Number(row['version_id']),
    params: row['params'] as Record<string, unknown>,
    logicalTime: row['logical_time'] as Date,
    intervalStart: row['interval_start'] as Date,
    intervalEnd: row['interval_end'] as Date,
    startedAt: row['started_at'] as Date,
  }));
}
