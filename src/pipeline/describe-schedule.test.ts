import { describe, expect, it } from 'vitest';
import { describeSchedule } from './describe-schedule.js';

describe('describeSchedule', () => {
  it.each([
    ['5 * * * *', 'hourly at :05'],
    ['30 6 * * *', 'daily at 06:30'],
    ['0 9 * * 1-5', 'weekdays at 09:00'],
    ['15 18 * * 5', 'weekly on Friday at 18:15'],
    ['0 0 * * 7', 'weekly on Sunday at 00:00'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['@daily', 'daily at 00:00'],
    ['@hourly', 'hourly'],
    ['0 6 1 * *', '0 6 1 * *'],
    ['0 6,18 * * *', '0 6,18 * * *'],
    ['0 25 * * *', '0 25 * * *'],
  ])('%s → %s', (schedule, words) => expect(describeSchedule(schedule)).toBe(words));
});
