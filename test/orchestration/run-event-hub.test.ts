/**
 * The process's run event hub: every subscriber is told of the same run through one follower, an
 * unsubscribed one hears nothing more, and a subscriber that throws does not stop the others.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRunEventHub } from '../../src/runs/run-event-hub.js';
import type { RunEvent } from '../../src/runs/run-event.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { activate, testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const { o, database } = useOrchestration();
let stopHub: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stopHub?.();
});

describe('run event hub', () => {
  it('fans one follower out to every subscriber', async () => {
    await activate(o.pool, `id: hub\ntasks:\n  a: { type: postgres.sql, sql: "select 1" }\n  b: { type: postgres.sql, needs: [a], sql: "select 1" }\n`);
    const hub = createRunEventHub({ pool: o.pool, databaseUrl: database.url, logger: testLogger });
    stopHub = () => hub.stop();
    const first: RunEvent[] = [];
    const second: RunEvent[] = [];
    const late: RunEvent[] = [];
    hub.subscribe(() => {
      throw new Error('a broken listener');
    });
    hub.subscribe((e) => first.push(e));
    const unsubscribe = hub.subscribe((e) => second.push(e));
    await hub.ready();
    expect(hub.listeners()).toBe(3);
    o.startWorker();
    const { runId } = await triggerRun(o.pool, { pipelineId: 'hub' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    await expect.poll(() => first.filter((e) => e.type === 'run.finished').length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => second.length).toBe(first.length);
    expect(second.map((e) => e.type)).toEqual(first.map((e) => e.type));
    unsubscribe();
    hub.subscribe((e) => late.push(e));
    const again = await triggerRun(o.pool, { pipelineId: 'hub' });
    expect(await waitForRun(o.pool, again.runId)).toBe('success');
    await expect.poll(() => late.filter((e) => e.type === 'run.finished').length, { timeout: 15_000 }).toBe(1);
    expect(second.every((e) => e.run.runId === runId)).toBe(true);
    expect(first.filter((e) => e.run.runId === again.runId).map((e) => e.type)).toEqual(late.map((e) => e.type));
  });
});
