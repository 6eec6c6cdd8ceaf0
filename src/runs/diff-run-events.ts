/**
 * The events between two readings of a run, pure: what changed from what a follower last saw
 * (`seen`, undefined for a run it has not seen) to the rows as they are now. Run events are
 * derived from state rather than carried in notifications, so a missed notification costs
 * nothing but delay: the next reading yields every change since the last one. Attempts that began
 * and ended between two readings collapse into the latest one (its `task.started` and its end).
 */
import type { RunEvent, RunSnapshot, TaskSnapshot } from './run-event.js';

export interface SeenRun {
  readonly started: boolean;
  readonly tasks: ReadonlyMap<string, { readonly state: TaskSnapshot['state']; readonly attempt: number }>;
}

const FINAL_TASK_STATES: ReadonlySet<TaskSnapshot['state']> = new Set(['success', 'failed', 'cancelled', 'upstream_failed']);
const FINAL_RUN_STATES: ReadonlySet<RunSnapshot['state']> = new Set(['success', 'failed', 'cancelled']);

export function isFinalRunState(state: RunSnapshot['state']): boolean {
  return FINAL_RUN_STATES.has(state);
}

export function diffRunEvents(seen: SeenRun | undefined, run: RunSnapshot, tasks: readonly TaskSnapshot[]): { events: RunEvent[]; seen: SeenRun } {
  const events: RunEvent[] = [];
  if (!seen) events.push({ type: 'run.created', run });
  if (!seen?.started && run.startedAt) events.push({ type: 'run.started', run });
  const seenTasks = new Map<string, { state: TaskSnapshot['state']; attempt: number }>();
  for (const task of tasks) {
    const before = seen?.tasks.get(task.taskId) ?? { state: 'pending', attempt: 0 };
    seenTasks.set(task.taskId, { state: task.state, attempt: task.attempt });
    if (task.attempt > before.attempt) events.push({ type: 'task.started', run, task });
    const unchanged = before.state === task.state && before.attempt === task.attempt;
    if (unchanged) continue;
    if (FINAL_TASK_STATES.has(task.state)) events.push({ type: 'task.finished', run, task });
    else if (task.state === 'ready' && task.attempt > 0) events.push({ type: 'task.retrying', run, task });
  }
  if (isFinalRunState(run.state)) events.push({ type: 'run.finished', run });
  return { events, seen: { started: run.startedAt !== null, tasks: seenTasks } };
}
