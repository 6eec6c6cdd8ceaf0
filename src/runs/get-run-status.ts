import type { Queryable } from '../db/with-transaction.js';
import type { RunState, TaskState } from '../db/schema.js';
import { toRunHeader, type RunHeader } from './to-run-header.js';

export interface RunStatus extends RunHeader {
  readonly intervalStart: Date;
  readonly intervalEnd: Date;
  readonly params: Record<string, unknown>;
  readonly sourceRef: string;
  readonly error: string | null;
  readonly startedAt: Date | null;
  readonly tasks: {
    readonly taskId: string;
    readonly type: string;
    readonly state: TaskState;
    readonly attempt: number;
    readonly maxAttempts: number;
    readonly needs: string[];
    readonly startedAt: Date | null;
    readonly finishedAt: Date | null;
    readonly error: { code: string; message: string } | null;
    readonly output: unknown;
  }[];
}

/** A run with its task runs, for `dfm run --wait`, `dfm status`, Slack and the dashboard. */
export async function getRunStatus(client: Queryable, runId: number): Promise<RunStatus | undefined> {
  const run = await client.query<Record<string, unknown>>(
    `select r.*, v.source_ref from dfm.run r join dfm.pipeline_version v on v.id = r.version_id where r.id = $1`,
    [runId],
  );
  const row = run.rows[0];
  if (!row) return undefined;
  const tasks = await client.query<Record<string, unknown>>('select * from dfm.task_run where run_id = $1 order by id', [runId]);
  return {
    ...toRunHeader(row),
    intervalStart: row['interval_start'] as Date,
    intervalEnd: row['interval_end'] as Date,
    params: row['params'] as Record<string, unknown>,
    sourceRef: row['source_ref'] as string,
    error: row['error'] as string | null,
    startedAt: row['started_at'] as Date | null,
    tasks: tasks.rows.map((t) => ({
      taskId: t['task_id'] as string,
      type: t['task_type'] as string,
      state: t['state'] as TaskState,
      attempt: t['attempt'] as number,
      maxAttempts: t['max_attempts'] as number,
      needs: t['needs'] as string[],
      startedAt: t['started_at'] as Date | null,
      finishedAt: t['finished_at'] as Date | null,
      error: t['error'] as { code: string; message: string } | null,
      output: t['output'],
    })),
  };
}

export const FINAL_RUN_STATES: readonly RunState[] = ['success', 'failed', 'cancelled'];
