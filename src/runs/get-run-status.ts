import type { Queryable } from '../db/with-transaction.js';
import { fromRow } from '../db/from-row.js';
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

const STATUS_COLUMNS = ['interval_start', 'interval_end', 'params', 'source_ref', 'error', 'started_at'];
const TASK_COLUMNS = ['task_id', 'task_type', 'state', 'attempt', 'max_attempts', 'needs', 'started_at', 'finished_at', 'error', 'output'];

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
    ...fromRow<Omit<RunStatus, keyof RunHeader | 'tasks'>>(row, STATUS_COLUMNS),
    tasks: tasks.rows.map((t) => fromRow<RunStatus['tasks'][number]>(t, TASK_COLUMNS, { rename: { task_type: 'type' } })),
  };
}

export const FINAL_RUN_STATES: readonly RunState[] = ['success', 'failed', 'cancelled'];
