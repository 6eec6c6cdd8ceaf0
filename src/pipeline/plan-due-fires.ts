/**
 * Which scheduled runs are due, as a pure function of the pipeline's schedule, the time up to
 * which fires were already considered and now (an injected clock).
 *
 * A run's logical time is its fire time; its interval is [previous fire, fire time).
 * Missed-schedule policy, for fires older than `graceMs` (the scheduler was down):
 * - none: skip them; only fires within the grace window run,
 * - last: run only the most recent fire,
 * - all: run every one, oldest first (at most `limit`; older ones are dropped and reported).
 */
import { fireTimesBetween, previousFireTime } from './schedule.js';

export type CatchupPolicy = 'none' | 'last' | 'all';

export interface DueFire {
  readonly logicalTime: Date;
  readonly intervalStart: Date;
  readonly intervalEnd: Date;
}

export interface DuePlan {
  readonly fires: DueFire[];
  /** Missed fires skipped by the policy (or beyond the limit). */
  readonly skipped: number;
}

export function planDueFires(input: {
  schedule: string;
  timezone: string;
  catchup: CatchupPolicy;
  /** Fires at or before this were already considered. */
  scheduledUntil: Date;
  now: Date;
  /** A fire at most this old still counts as on time. */
  graceMs: number;
  limit?: number;
}): DuePlan {
  const limit = input.limit ?? 1000;
  if (input.now <= input.scheduledUntil) return { fires: [], skipped: 0 };
  let times: Date[];
  try {
    times = fireTimesBetween(input.schedule, input.timezone, input.scheduledUntil, input.now, 100_000);
  } catch {
    // More than 100,000 missed fires (a minutely schedule down for months): only the recent ones.
    const from = new Date(input.now.getTime() - input.graceMs);
    times = fireTimesBetween(input.schedule, input.timezone, from > input.scheduledUntil ? from : input.scheduledUntil, input.now, 100_000);
  }
  const onTimeFrom = input.now.getTime() - input.graceMs;
  const onTime = times.filter((t) => t.getTime() >= onTimeFrom);
  let chosen: Date[];
  switch (input.catchup) {
    case 'none':
      chosen = onTime;
      break;
    case 'last':
      chosen = times.length > 0 ? [times[times.length - 1]!] : [];
      break;
    case 'all':
      chosen = times.slice(-limit);
      break;
  }
  return {
    fires: chosen.map((fire) => toDueFire(input.schedule, input.timezone, fire)),
    skipped: times.length - chosen.length,
  };
}

export function toDueFire(schedule: string, timezone: string, fire: Date): DueFire {
  const previous = previousFireTime(schedule, timezone, fire);
  return { logicalTime: fire, intervalStart: previous ?? fire, intervalEnd: fire };
}
