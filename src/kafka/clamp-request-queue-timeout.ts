/**
 * kafkajs 2.2.4's RequestQueue schedules its pending-request check at `throttledUntil - now`,
 * which is negative whenever no broker throttles (throttledUntil starts at -1): about
 * -1.8e12 ms. Node 20 quietly ran such a timer after 1 ms; Node 24 does the same but prints a
 * TimeoutNegativeWarning on stderr, in the middle of dfm's logs (13 of them in one test run).
 * The same schedule with the delay clamped to 1 ms: identical timing, no warning.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kafkajs' own value (src/network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface RequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

export function clampRequestQueueTimeout(): void {
  const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueue };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue) {
    let scheduleAt = this.throttledUntil - Date.now();
    if (!this.throttleCheckTimeoutId) {
      if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
      this.throttleCheckTimeoutId = setTimeout(() => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      }, Math.max(1, scheduleAt));
    }
  };
}
