/**
 * A schedule in words for chat and the CLI (`hourly at :05`, `daily at 06:30`), or the cron
 * expression itself when it is not one of the common shapes. Pure.
 */
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NICKNAMES: Record<string, string> = { '@hourly': 'hourly', '@daily': 'daily at 00:00', '@weekly': 'weekly on Sunday at 00:00', '@monthly': 'monthly on the 1st at 00:00', '@yearly': 'yearly on 1 January at 00:00' };

export function describeSchedule(schedule: string): string {
  const nickname = NICKNAMES[schedule.trim().toLowerCase()];
  if (nickname !== undefined) return nickname;
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return schedule;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string];
  const number = (field: string, max: number) => (/^\d{1,2}$/.test(field) && Number(field) <= max ? Number(field) : undefined);
  const m = number(minute, 59);
  const h = number(hour, 23);
  const every = /^\*\/(\d{1,2})$/.exec(minute);
  const anyDay = dayOfMonth === '*' && month === '*';
  if (every && hour === '*' && anyDay && dayOfWeek === '*') return `every ${every[1]} minutes`;
  if (m === undefined || !anyDay) return schedule;
  const time = h === undefined ? undefined : `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
  if (hour === '*' && dayOfWeek === '*') return `hourly at :${String(m).padStart(2, '0')}`;
  if (time === undefined) return schedule;
  if (dayOfWeek === '*') return `daily at ${time}`;
  if (dayOfWeek === '1-5') return `weekdays at ${time}`;
  const day = number(dayOfWeek, 7);
  return day === undefined ? schedule : `weekly on ${DAYS[day % 7]} at ${time}`;
}
