import { describe, expect, it } from 'vitest';
import { planDueFires } from './plan-due-fires.js';

const iso = (d: Date) => d.toISOString();
const base = { schedule: '5 * * * *', timezone: 'UTC', graceMs: 60_000 };

describe('planDueFires', () => {
  it('creates the fire that just happened, with the interval since the previous fire', () => {
    const plan = planDueFires({ ...base, catchup: 'none', scheduledUntil: new Date('2026-03-01T10:04:58Z'), now: new Date('2026-03-01T10:05:01Z') });
    expect(plan.fires.map((f) => [iso(f.logicalTime), iso(f.intervalStart), iso(f.intervalEnd)])).toEqual([
      ['2026-03-01T10:05:00.000Z', '2026-03-01T09:05:00.000Z', '2026-03-01T10:05:00.000Z'],
    ]);
  });

  it('creates nothing when no fire time passed since the last tick', () => {
    expect(planDueFires({ ...base, catchup: 'all', scheduledUntil: new Date('2026-03-01T10:05:01Z'), now: new Date('2026-03-01T10:06:00Z') }).fires).toEqual([]);
  });

  describe('after 5 hours of downtime', () => {
    const downtime = { ...base, scheduledUntil: new Date('2026-03-01T10:00:00Z'), now: new Date('2026-03-01T15:05:30Z') };
    it('none: skips the missed fires, keeps the on-time one', () => {
      const plan = planDueFires({ ...downtime, catchup: 'none' });
      expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual(['2026-03-01T15:05:00.000Z']);
      expect(plan.skipped).toBe(5);
    });
    it('last: runs only the most recent fire', () => {
      const plan = planDueFires({ ...downtime, catchup: 'last', now: new Date('2026-03-01T15:30:00Z') });
      expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual(['2026-03-01T15:05:00.000Z']);
      expect(plan.skipped).toBe(5);
    });
    it('all: runs every missed fire, oldest first', () => {
      const plan = planDueFires({ ...downtime, catchup: 'all' });
      expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual([
        '2026-03-01T10:05:00.000Z',
        '2026-03-01T11:05:00.000Z',
        '2026-03-01T12:05:00.000Z',
        '2026-03-01T13:05:00.000Z',
        '2026-03-01T14:05:00.000Z',
        '2026-03-01T15:05:00.000Z',
      ]);
    });
    it('all: keeps at most `limit` runs, the newest', () => {
      const plan = planDueFires({ ...downtime, catchup: 'all', limit: 2 });
      expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual(['2026-03-01T14:05:00.000Z', '2026-03-01T15:05:00.000Z']);
      expect(plan.skipped).toBe(4);
    });
  });

  it('follows the pipeline timezone across the spring-forward DST change', () => {
    // Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29: a daily 02:30 run moves to 03:00 local.
    const plan = planDueFires({
      schedule: '30 2 * * *',
      timezone: 'Europe/Berlin',
      catchup: 'all',
      graceMs: 0,
      scheduledUntil: new Date('2026-03-27T12:00:00Z'),
      now: new Date('2026-03-31T12:00:00Z'),
    });
    expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET (UTC+1)
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST (UTC+2)
      '2026-03-31T00:30:00.000Z',
    ]);
    // The interval across the change is 23.5 hours long: 02:30 CET to 03:00 CEST.
    const [, dst] = plan.fires;
    expect(dst!.intervalEnd.getTime() - dst!.intervalStart.getTime()).toBe(23.5 * 3600_000);
  });

  it('fires once in the repeated hour of the autumn DST change', () => {
    // Europe/Berlin repeats 02:00–03:00 on 2026-10-25.
    const plan = planDueFires({
      schedule: '30 2 * * *',
      timezone: 'Europe/Berlin',
      catchup: 'all',
      graceMs: 0,
      scheduledUntil: new Date('2026-10-24T12:00:00Z'),
      now: new Date('2026-10-26T12:00:00Z'),
    });
    expect(plan.fires.map((f) => iso(f.logicalTime))).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });
});
