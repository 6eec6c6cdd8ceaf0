/**
 * Run events: what reporters (commit statuses, Slack, the dashboard's live view, metrics) are told
 * when a run or one of its tasks changes state. One zod schema is the source of the TypeScript
 * type and of the check a consumer in another process (or a test) can run on a received event.
 *
 * Terms: a run is one execution of a pipeline version (`sourceRef` is the commit that defined it);
 * a task run is one task in it, and each of its attempts starts (`task.started`) and ends
 * (`task.finished`, or `task.retrying` when another attempt follows).
 */
import { z } from 'zod';
import { runStates, runTriggers, taskStates } from '../db/schema.js';

export const runSnapshotSchema = z.object({
  runId: z.number().int().positive(),
  pipelineId: z.string(),
  versionId: z.number().int().positive(),
  /** The commit (or local-mode revision) the version came from. */
  sourceRef: z.string(),
  trigger: z.enum(runTriggers),
  state: z.enum(runStates),
  logicalTime: z.date(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  error: z.string().nullable(),
  /** Tasks whose final state is failed, in task-run order (empty unless the run failed). */
  failedTasks: z.array(z.string()),
});

export const taskSnapshotSchema = z.object({
  taskId: z.string(),
  type: z.string(),
  state: z.enum(taskStates),
  attempt: z.number().int().nonnegative(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export const runEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run.created'), run: runSnapshotSchema }),
  z.object({ type: z.literal('run.started'), run: runSnapshotSchema }),
  z.object({ type: z.literal('run.finished'), run: runSnapshotSchema }),
  z.object({ type: z.literal('task.started'), run: runSnapshotSchema, task: taskSnapshotSchema }),
  z.object({ type: z.literal('task.retrying'), run: runSnapshotSchema, task: taskSnapshotSchema }),
  z.object({ type: z.literal('task.finished'), run: runSnapshotSchema, task: taskSnapshotSchema }),
]);

export type RunSnapshot = z.infer<typeof runSnapshotSchema>;
export type TaskSnapshot = z.infer<typeof taskSnapshotSchema>;
export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
