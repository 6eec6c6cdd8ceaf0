import { describe, expect, it } from 'vitest';
import { checkSchedule, fireTimesBetween, formatInTimeZone, isValidTimeZone, logicalInterval, nextFireTimes, previousFireTime } from './schedule.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('schedules', () => {
  it('accepts 5-field cron and the nicknames, rejects the rest with a reason', () => {
    for (const ok of ['*/5 * * * *', '0 2 * * 1-5', '@hourly', '@daily', '@weekly', '@monthly', '@yearly']) expect(checkSchedule(ok), ok).toBeUndefined();
    expect(checkSchedule('0 0 * * * *')).toMatch(/5 fields/);
    expect(checkSchedule('61 * * * *')).toMatch(/minute/);
    expect(checkSchedule('@every_minute')).toMatch(/Unknown schedule nickname/);
    expect(checkSchedule('0 0 31 2 *')).toMatch(/never fires/);
  });

  it('knows IANA zones and rejects offsets', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('+01:00')).toBe(false);
  });

  it('moves a fire time inside the spring-forward gap to the first valid time (Berlin, 2025-03-30)', () => {
    const times = nextFireTimes('30 2 * * *', 'Europe/Berlin', new Date('2025-03-28T12:00:00Z'), 4);
    expect(times.map((d) => formatInTimeZone(d, 'Europe/Berlin'))).toEqual([
      '2025-03-29T02:30:00+01:00',
      '2025-03-30T03:00:00+02:00',
      '2025-03-31T02:30:00+02:00',
      '2025-04-01T02:30:00+02:00',
    ]);
  });

  it('fires once in the repeated fall-back hour (New York, 2025-11-02)', () => {
    const times = fireTimesBetween('30 1 * * *', 'America/New_York', new Date('2025-11-01T12:00:00Z'), new Date('2025-11-03T12:00:00Z'));
    expect(times.map((d) => formatInTimeZone(d, 'America/New_York'))).toEqual(['2025-11-02T01:30:00-04:00', '2025-11-03T01:30:00-05:00']);
  });

  it('keeps hourly runs one real hour apart across DST: 23 hourly fires on the short day', () => {
    const day = fireTimesBetween('@hourly', 'Europe/Berlin', new Date('2025-03-29T23:00:00Z'), new Date('2025-03-30T22:00:00Z'));
    expect(day).toHaveLength(23);
  });

  it('enumerates (from, to] and gives the logical interval [previous fire, fire)', () => {
    const from = new Date('2025-01-01T00:00:00Z');
    expect(iso(fireTimesBetween('0 */6 * * *', 'UTC', from, new Date('2025-01-01T18:00:00Z')))).toEqual(['2025-01-01T06:00:00.000Z', '2025-01-01T12:00:00.000Z', '2025-01-01T18:00:00.000Z']);
    expect(previousFireTime('@daily', 'UTC', new Date('2025-01-02T00:00:00Z'))?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(logicalInterval('@daily', 'Europe/Berlin', new Date('2025-03-30T22:00:00Z'))).toEqual({ start: new Date('2025-03-29T23:00:00Z'), end: new Date('2025-03-30T22:00:00Z') });
  });

  it('refuses to enumerate more fire times than the limit', () => {
    expect(() => fireTimesBetween('* * * * *', 'UTC', new Date('2025-01-01T00:00:00Z'), new Date('2025-01-02T00:00:00Z'), 100)).toThrow(RangeError);
  });
});
