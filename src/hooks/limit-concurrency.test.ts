import { describe, expect, it } from 'vitest';
import { limitConcurrency } from './limit-concurrency.js';

describe('limitConcurrency', () => {
  it('runs at most `limit` at once, queues up to `maxWaiting` in order, refuses the rest', async () => {
    const gate = limitConcurrency(2, 2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const task = (n: number) => gate.run(async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => releases.push(resolve));
      order.push(n);
      active -= 1;
      return n;
    });
    const runs = [1, 2, 3, 4].map(task);
    expect(await task(5)).toBeUndefined();
    while (order.length < 4) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      releases.shift()?.();
    }
    expect(await Promise.all(runs)).toEqual([1, 2, 3, 4]);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(peak).toBe(2);
  });
});
