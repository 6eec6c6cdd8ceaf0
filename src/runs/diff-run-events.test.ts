import { describe, expect, it } from 'vitest';
import { diffRunEvents } from './diff-run-events.js';
import type { RunSnapshot, TaskSnapshot } from './run-event.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const run = (over: Partial<RunSnapshot> = {}): RunSnapshot => ({
  runId: 7, pipelineId: 'orders', versionId: 3, sourceRef: 'abc123', trigger: 'manual', state: 'running',
  logicalTime: t0, createdAt: t0, startedAt: t0, finishedAt: null, error: null, failedTasks: [], ...over,
});
const task = (taskId: string, state: TaskSnapshot['state'], attempt: number): TaskSnapshot => ({
  taskId, type: 'postgres.sql', state, attempt, startedAt: attempt > 0 ? t0 : null, finishedAt: null, error: null,
});
const types = (events: { type: string; task?: { taskId: string } }[]) => events.map((e) => (e.task ? `${e.type} ${e.task.taskId}` : e.type));

describe('diffRunEvents', () => {
  it('announces a new run: created, started, then its tasks in order', () => {
    const { events } = diffRunEvents(undefined, run(), [task('a', 'running', 1), task('b', 'pending', 0)]);
    expect(types(events)).toEqual(['run.created', 'run.started', 'task.started a']);
  });

  it('says nothing when nothing changed, and only the change otherwise', () => {
    const first = diffRunEvents(undefined, run(), [task('a', 'running', 1), task('b', 'pending', 0)]);
    expect(diffRunEvents(first.seen, run(), [task('a', 'running', 1), task('b', 'pending', 0)]).events).toEqual([]);
    const next = diffRunEvents(first.seen, run(), [task('a', 'success', 1), task('b', 'running', 1)]);
    expect(types(next.events)).toEqual(['task.finished a', 'task.started b']);
  });

  it('catches up on a whole run seen for the first time after it ended (a gap in the LISTEN)', () => {
    const { events } = diffRunEvents(undefined, run({ state: 'failed', finishedAt: t0, failedTasks: ['b'] }), [task('a', 'success', 1), task('b', 'failed', 2), task('c', 'upstream_failed', 0)]);
    expect(types(events)).toEqual(['run.created', 'run.started', 'task.started a', 'task.finished a', 'task.started b', 'task.finished b', 'task.finished c', 'run.finished']);
  });

  it('tells a retry from an end, and a new attempt from the old one', () => {
    const first = diffRunEvents(undefined, run(), [task('a', 'running', 1)]);
    const retry = diffRunEvents(first.seen, run(), [task('a', 'ready', 1)]);
    expect(types(retry.events)).toEqual(['task.retrying a']);
    expect(types(diffRunEvents(retry.seen, run(), [task('a', 'running', 2)]).events)).toEqual(['task.started a']);
  });

  it('announces a queued run without a start, and its cancellation', () => {
    const queued = diffRunEvents(undefined, run({ state: 'queued', startedAt: null }), [task('a', 'pending', 0)]);
    expect(types(queued.events)).toEqual(['run.created']);
    const cancelled = diffRunEvents(queued.seen, run({ state: 'cancelled', startedAt: null, finishedAt: t0 }), [task('a', 'cancelled', 0)]);
    expect(types(cancelled.events)).toEqual(['task.finished a', 'run.finished']);
  });
});
