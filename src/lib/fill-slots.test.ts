import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { fillSlots } from './fill-slots.js';

const logger = createLogger('silent');
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('fillSlots', () => {
  it('keeps at most `slots` items running, claims again as they finish, and stop() waits for them', async () => {
    const queue = Array.from({ length: 10 }, (_, i) => i);
    let running = 0;
    let most = 0;
    const done: number[] = [];
    const limits: number[] = [];
    const filler = fillSlots({
      slots: 3,
      claim: async (limit) => {
        limits.push(limit);
        return queue.splice(0, limit);
      },
      run: async (item) => {
        running += 1;
        most = Math.max(most, running);
        await tick();
        running -= 1;
        done.push(item);
      },
      logger,
      what: 'items',
      failedMessage: () => 'failed',
    });
    filler.fill();
    filler.fill();
    while (done.length < 10) await tick();
    await filler.stop();
    expect(most).toBe(3);
    expect([...done].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(limits.every((limit) => limit >= 1 && limit <= 3)).toBe(true);
  });

  it('survives a failing claim and a failing item, and claims nothing after stop()', async () => {
    let claims = 0;
    const filler = fillSlots({
      slots: 1,
      claim: async () => {
        claims += 1;
        if (claims === 1) throw new Error('database away');
        return claims === 2 ? ['boom'] : [];
      },
      run: async () => {
        throw new Error('boom');
      },
      logger,
      what: 'items',
      failedMessage: () => 'failed',
    });
    filler.fill();
    await tick();
    filler.fill();
    await tick();
    await filler.stop();
    const before = claims;
    filler.fill();
    await tick();
    expect(claims).toBe(before);
    expect(claims).toBeGreaterThanOrEqual(2);
  });
});
