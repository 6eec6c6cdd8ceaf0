/**
 * Cron schedules in a pipeline's timezone. croner does the calendar arithmetic, including DST:
 * a fire time inside a spring-forward gap moves to the first valid minute after it, and an
 * ambiguous fall-back hour fires once. A run's logical interval is [previous fire, this fire).
 *
 * Everything here is pure: callers pass the reference time (`after`, `from`, `to`), never "now".
 */
import { Cron } from 'croner';

/** Nicknames accepted besides 5-field cron (`minute hour day-of-month month day-of-week`). */
export const SCHEDULE_NICKNAMES = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly'] as const;

/** Upper bound of fire times one call enumerates, so a minutely schedule over years cannot hang. */
export const MAX_FIRE_TIMES = 100_000;

function toCron(schedule: string, timezone: string): Cron {
  return new Cron(schedule.trim(), { timezone, paused: true, mode: '5-part' });
}

/** Why a schedule is invalid (a sentence for the user), or undefined when it is valid. */
export function checkSchedule(schedule: string): string | undefined {
  const text = schedule.trim();
  if (text.startsWith('@')) {
    return (SCHEDULE_NICKNAMES as readonly string[]).includes(text) ? undefined : `Unknown schedule nickname "${text}"`;
  }
  const fields = text.split(/\s+/).filter(Boolean).length;
  if (fields !== 5) return `Cron needs 5 fields (minute hour day-of-month month day-of-week), "${text}" has ${fields}`;
  let cron: Cron;
  try {
    cron = toCron(text, 'UTC');
  } catch (error) {
    return `Invalid cron "${text}": ${(error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, '')}`;
  }
  // A fixed reference keeps this pure; 30 February never comes, whatever year it is.
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return `Cron "${text}" never fires`;
  return undefined;
}

/** True for IANA names this Node knows (`Europe/Berlin`, `UTC`); offsets like `+01:00` are not zones. */
export function isValidTimeZone(timezone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(timezone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Every IANA zone name, for "did you mean" hints. */
export function knownTimeZones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone')];
}

/** The next `count` fire times strictly after `after`. */
export function nextFireTimes(schedule: string, timezone: string, after: Date, count: number): Date[] {
  return toCron(schedule, timezone).nextRuns(Math.min(count, MAX_FIRE_TIMES), after);
}

/** The last fire time strictly before `before`, or undefined when there is none. */
export function previousFireTime(schedule: string, timezone: string, before: Date): Date | undefined {
  return toCron(schedule, timezone).previousRuns(1, before)[0];
}

/**
 * Fire times in (from, to]: the intervals missed between the last fire a scheduler saw and now,
 * or the runs of a backfill. Throws when there are more than `limit` (default MAX_FIRE_TIMES), so a
 * mistaken range fails loudly instead of creating a million runs.
 */
export function fireTimesBetween(schedule: string, timezone: string, from: Date, to: Date, limit = MAX_FIRE_TIMES): Date[] {
  const cron = toCron(schedule, timezone);
  const times: Date[] = [];
  let cursor: Date | null = from;
  while ((cursor = cron.nextRun(cursor)) !== null && cursor.getTime() <= to.getTime()) {
    if (times.length === limit) throw new RangeError(`More than ${limit} fire times between ${from.toISOString()} and ${to.toISOString()}`);
    times.push(cursor);
  }
  return times;
}

/** The logical interval a run at `fireTime` covers: [previous fire, fireTime). */
export function logicalInterval(schedule: string, timezone: string, fireTime: Date): { start: Date; end: Date } {
  const start = previousFireTime(schedule, timezone, fireTime) ?? fireTime;
  return { start, end: fireTime };
}

/** `2025-03-30T03:00:00+02:00`: the wall-clock time in `timezone` with its UTC offset. */
export function formatInTimeZone(date: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = (parts.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}
