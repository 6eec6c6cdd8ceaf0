import type { Queryable } from '../db/with-transaction.js';
import { toRunHeader, type RunHeader } from './to-run-header.js';

export interface RunSummary extends RunHeader {
  readonly tasks: number;
  readonly tasksSucceeded: number;
  /** The commit SHA (or `local:<hash>`) the run's pipeline version came from. */
  readonly sourceRef: string;
}

export async function listRuns(client: Queryable, filter: { pipelineId?: string; limit: number }): Promise<RunSummary[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `select r.id, r.pipeline_id, r.state, r.trigger, r.logical_time, r.created_at, r.finished_at,
            (select count(*)::int from dfm.task_run t where t.run_id = r.id) as tasks,
            (select count(*)::int from dfm.task_run t where t.run_id = r.id and t.state = 'success') as succeeded,
            v.source_ref
       from dfm.run r join dfm.pipeline_version v on v.id = r.version_id
      where ($1::text is null or r.pipeline_id = $1)
      order by r.id desc limit $2`,
    [filter.pipelineId ?? null, filter.limit],
  );
  return rows.map((r) => ({
    ...toRunHeader(r),
    tasks: r['tasks'] as number,
    tasksSucceeded: r['succeeded'] as number,
    sourceRef: r['source_ref'] as string,
  }));
}
