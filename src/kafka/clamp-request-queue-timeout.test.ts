import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { clampRequestQueueTimeout } from './clamp-request-queue-timeout.js';

const require = createRequire(import.meta.url);

describe('clampRequestQueueTimeout', () => {
  it('checks the pending requests after 1 ms when nothing throttles, without a negative timer (Node 24 warns)', async () => {
    clampRequestQueueTimeout();
    const { prototype } = require('kafkajs/src/network/requestQueue') as { prototype: { scheduleCheckPendingRequests(this: unknown): void } };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    let checked = 0;
    const queue = { throttledUntil: -1, throttleCheckTimeoutId: null, pending: [], checkPendingRequests: () => void (checked += 1) };
    try {
      prototype.scheduleCheckPendingRequests.call(queue);
      prototype.scheduleCheckPendingRequests.call(queue); // one timer at a time
      await new Promise((r) => setTimeout(r, 30));
    } finally {
      process.off('warning', onWarning);
    }
    expect(checked).toBe(1);
    expect(queue.throttleCheckTimeoutId).toBeNull();
    expect(warnings).not.toContain('TimeoutNegativeWarning');
  });
});
