import type { Queryable } from '../db/with-transaction.js';
import type { RunState, RunTrigger } from '../db/schema.js';

export interface RunSummary {
  readonly id: number;
  readonly pipelineId: string;
  readonly state: RunState;
  readonly trigger: RunTrigger;
  readonly logicalTime: Date;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
  readonly tasks: number;
  readonly tasksSucceeded: number;
}

export async function listRuns(client: Queryable, filter: { pipelineId?: string; limit: number }): Promise<RunSummary[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `select r.id, r.pipeline_id, r.state, r.trigger, r.logical_time, r.created_at, r.finished_at,
            (select count(*)::int from dfm.task_run t where t.run_id = r.id) as tasks,
            (select count(*)::int from dfm.task_run t where t.run_id = r.id and t.state = 'success') as succeeded
       from dfm.run r
      where ($1::text is null or r.pipeline_id = $1)
      order by r.id desc limit $2`,
    [filter.pipelineId ?? null, filter.limit],
  );
  return rows.map((r) => ({
    id: Number(r['id']),
    pipelineId: r['pipeline_id'] as string,
    state: r['state'] as RunState,
    trigger: r['trigger'] as RunTrigger,
    logicalTime: r['logical_time'] as Date,
    createdAt: r['created_at'] as Date,
    finishedAt: r['finished_at'] as Date | null,
    tasks: r['tasks'] as number,
    tasksSucceeded: r['succeeded'] as number,
  }));
}
