import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createStopSteps } from './stop-steps.js';

describe('createStopSteps', () => {
  it('stops last-added first, knows what is pending, and runs the rest after a failure', async () => {
    const steps = createStopSteps(pino({ level: 'silent' }));
    const order: string[] = [];
    let release = () => {};
    steps.add('pool', async () => void order.push('pool'));
    steps.add('broker', async () => {
      order.push('broker');
      throw new Error('already gone');
    });
    steps.add('server', () => new Promise<void>((resolve) => (release = () => { order.push('server'); resolve(); })));
    expect(steps.pending()).toEqual(['server', 'broker', 'pool']);

    const stopping = steps.stopAll();
    expect(steps.stopAll()).toBe(stopping);
    await new Promise((r) => setImmediate(r));
    expect(steps.pending()).toEqual(['server', 'broker', 'pool']);
    release();
    await stopping;
    expect(order).toEqual(['server', 'broker', 'pool']);
    expect(steps.pending()).toEqual([]);
  });
});
