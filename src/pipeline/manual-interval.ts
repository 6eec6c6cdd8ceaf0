/**
 * A manual run's interval, pure (the clock passed in): the last complete schedule interval before
 * now (what a scheduled run at the last fire covered), or [now, now) for unscheduled pipelines.
 */
import type { Pipeline } from './pipeline-schema.js';
import { previousFireTime } from './schedule.js';

export function manualInterval(pipeline: Pipeline, now: Date): { intervalStart: Date; intervalEnd: Date } {
  if (!pipeline.schedule) return { intervalStart: now, intervalEnd: now };
  const end = previousFireTime(pipeline.schedule, pipeline.timezone, new Date(now.getTime() + 1));
  const start = end ? previousFireTime(pipeline.schedule, pipeline.timezone, end) : undefined;
  return end && start ? { intervalStart: start, intervalEnd: end } : { intervalStart: now, intervalEnd: now };
}
