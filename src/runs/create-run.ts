/**
 * Creates a run and its task runs in the caller's transaction. Scheduled and backfill runs carry a
 * dedupe key (their logical time), and the insert is `ON CONFLICT DO NOTHING RETURNING`: among any
 * number of schedulers, only the one that gets a row back creates the task runs, so a fire makes
 * exactly one run with no in-memory coordination.
 */
import type { Queryable } from '../db/with-transaction.js';
import type { RunTrigger } from '../db/schema.js';
import { effectiveTaskSettings } from '../pipeline/effective-task-settings.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { startQueuedRuns } from './start-queued-runs.js';

export interface NewRun {
  readonly pipeline: Pipeline;
  readonly versionId: number;
  readonly trigger: RunTrigger;
  readonly logicalTime: Date;
  readonly intervalStart: Date;
  readonly intervalEnd: Date;
  readonly params: Readonly<Record<string, unknown>>;
  /** Unique per pipeline; undefined for runs that may repeat (manual). */
  readonly dedupeKey?: string;
  readonly requestedBy?: string;
  /** A webhook delivery's JSON body, kept as data for `{{ trigger.body }}` and `:trigger_body`. */
  readonly triggerBody?: unknown;
}

/** The run id, or undefined when a run with the same dedupe key already exists. */
export async function createRun(client: Queryable, run: NewRun): Promise<number | undefined> {
  const inserted = await client.query<{ id: string }>(
    `insert into dfm.run (pipeline_id, version_id, trigger, dedupe_key, logical_time, interval_start, interval_end, params, requested_by, trigger_body)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb)
     on conflict (pipeline_id, dedupe_key) do nothing
     returning id`,
    [run.pipeline.id, run.versionId, run.trigger, run.dedupeKey ?? null, run.logicalTime, run.intervalStart, run.intervalEnd, JSON.stringify(run.params), run.requestedBy ?? null, run.triggerBody === undefined ? null : JSON.stringify(run.triggerBody)],
  );
  const row = inserted.rows[0];
  if (!row) return undefined;
  const runId = Number(row.id);
  const tasks = run.pipeline.tasks.map((task) => ({
    task_id: task.id,
    task_type: task.type,
    needs: task.needs,
    max_attempts: effectiveTaskSettings(run.pipeline, task.id).retries + 1,
  }));
  await client.query(
    `insert into dfm.task_run (run_id, task_id, task_type, needs, max_attempts)
     select $1, t.task_id, t.task_type, array(select jsonb_array_elements_text(t.needs)), t.max_attempts
       from jsonb_to_recordset($2::jsonb) as t(task_id text, task_type text, needs jsonb, max_attempts int)`,
    [runId, JSON.stringify(tasks)],
  );
  await startQueuedRuns(client, run.pipeline.id, [runId]);
  return runId;
}
