/**
 * The process's one follower of run events, shared by every subscriber in it (the dashboard's live
 * views, server-sent event streams of the run API, reporters): one LISTEN connection and one
 * reading per announced run, however many viewers are open. The follower starts with the first
 * subscriber and runs until stop(); a subscriber that throws is logged and does not stop the others.
 */
import type pg from 'pg';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { followRunEvents, type RunEventFollower } from './follow-run-events.js';
import type { RunEvent } from './run-event.js';

export type RunEventListener = (event: RunEvent) => void;

export interface RunEventHub {
  /** Adds a listener; the returned function removes it. */
  subscribe(listener: RunEventListener): () => void;
  /** Resolves once LISTEN is in place (starting the follower if no one subscribed yet). */
  ready(): Promise<void>;
  readonly listeners: () => number;
  stop(): Promise<void>;
}

export function createRunEventHub(options: { pool: pg.Pool; databaseUrl: string; logger: Logger; retryDelayMs?: number }): RunEventHub {
  const listeners = new Set<RunEventListener>();
  let follower: RunEventFollower | undefined;
  let stopped = false;

  const start = (): RunEventFollower => {
    follower ??= followRunEvents({
      pool: options.pool,
      databaseUrl: options.databaseUrl,
      logger: options.logger,
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      onEvent: (event) => {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch (error) {
            options.logger.warn({ err: { message: messageOf(error) }, runId: event.run.runId }, 'a run event listener failed');
          }
        }
      },
    });
    return follower;
  };

  return {
    subscribe(listener) {
      if (stopped) throw new Error('the run event hub is stopped');
      listeners.add(listener);
      start();
      return () => listeners.delete(listener);
    },
    ready: () => (stopped ? Promise.resolve() : start().ready),
    listeners: () => listeners.size,
    async stop() {
      stopped = true;
      listeners.clear();
      await follower?.stop();
    },
  };
}
