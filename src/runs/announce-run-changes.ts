/**
 * The worker's share of run events. Claims and outcomes are the hot path and must not NOTIFY in
 * their own transactions (NOTIFY serializes the commits of every notifying transaction:
 * run-channels.ts), so a worker collects the runs whose tasks it changed and announces them after
 * the fact, at most once per `intervalMs` (250 ms: a live view a quarter second behind), in one
 * NOTIFY over its pool. At the scheduler bench's ~1,300 outcomes/s that is 4 extra commits/s
 * instead of 1,300 serialized ones. A crash between
 * an outcome and its announcement only delays that run's events until its next announcement (the
 * follower reads state, diff-run-events.ts); a run's end is announced in its own transaction. The
 * same beat updates the Slack message of each such run (report-run-messages.ts, `progress`).
 */
import type pg from 'pg';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { notifyRunsChanged } from './run-channels.js';
import { reportRunMessages } from './report-run-messages.js';

export interface RunChangeAnnouncer {
  /** This run's tasks changed (a claim or an outcome committed). */
  add(runId: number): void;
  /** Announces what is pending now and stops. */
  stop(): Promise<void>;
}

export function announceRunChanges(pool: pg.Pool, logger: Logger, intervalMs = 250): RunChangeAnnouncer {
  const pending = new Set<number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  const flush = async () => {
    timer = undefined;
    const ids = [...pending];
    pending.clear();
    if (ids.length === 0) return;
    await notifyRunsChanged(pool, ids).catch((error: unknown) => logger.warn({ err: { message: messageOf(error) } }, 'could not announce run changes; the next announcement covers them'));
    // The task states of runs with a Slack message, on the same beat (a lost one is only a missed
    // intermediate update: the run's end is reported in its own transaction).
    await reportRunMessages(pool, ids, { progress: true }).catch((error: unknown) => logger.warn({ err: { message: messageOf(error) } }, 'could not report the progress of runs to Slack'));
  };

  return {
    add(runId) {
      pending.add(runId);
      timer ??= setTimeout(() => {
        flushing = flush().finally(() => (flushing = undefined));
      }, intervalMs);
    },
    async stop() {
      clearTimeout(timer);
      await flushing;
      await flush();
    },
  };
}
