/**
 * The worker's wake-ups, serialized: wake() runs one claim loop at a time (a wake during a loop
 * runs another right after it). Each claim statement also asks which of the runs this worker just
 * finished tasks of has nothing left to do (claim-task-runs.ts), and hands those to `onRunDone`.
 */
import type pg from 'pg';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { claimTaskRuns, type ClaimedTaskRun } from './claim-task-runs.js';

export interface ClaimLoop {
  /** Look for ready task runs now. */
  wake(): void;
  /** After an outcome committed: the run may be done; the next claim (right after) checks it. */
  checkRun(runId: number): void;
  /** Stop claiming (outcomes still committing may add runs to check). */
  stop(): void;
  /** The runs no claim statement checked (at shutdown, after the last outcome). */
  takeUnchecked(): number[];
}

export function createClaimLoop(options: {
  readonly pool: pg.Pool;
  readonly workerId: string;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  /** Free execution slots now. */
  readonly free: () => number;
  readonly onClaimed: (claimed: ClaimedTaskRun) => void;
  readonly onRunDone: (runId: number) => void;
}): ClaimLoop {
  let stopping = false;
  let claiming = false;
  let wakeAgain = false;
  /** Runs whose tasks this worker finished: the next claim statement says which have nothing left. */
  const runsToCheck = new Set<number>();

  const wake = () => {
    if (stopping) return;
    if (claiming) {
      wakeAgain = true;
      return;
    }
    claiming = true;
    void claimLoop().finally(() => {
      claiming = false;
      if (wakeAgain) {
        wakeAgain = false;
        wake();
      }
    });
  };

  async function claimLoop(): Promise<void> {
    try {
      while (!stopping) {
        const free = options.free();
        if (free <= 0 && runsToCheck.size === 0) return;
        // Taken out before the statement: a run added again while it runs (another of its tasks
        // committed meanwhile) must be checked again by the next statement, with a newer snapshot.
        const checks = [...runsToCheck];
        runsToCheck.clear();
        let result: Awaited<ReturnType<typeof claimTaskRuns>>;
        try {
          result = await claimTaskRuns(options.pool, options.workerId, Math.max(free, 0), checks);
        } catch (error) {
          for (const runId of checks) runsToCheck.add(runId);
          throw error;
        }
        const { claimed, runsWithoutOpenTasks } = result;
        for (const runId of runsWithoutOpenTasks) options.onRunDone(runId);
        options.metrics?.claims.inc(claimed.length);
        for (const row of claimed) options.metrics?.claimLatency.observe(Math.max(0, row.startedAt.getTime() - row.readyAt.getTime()) / 1000);
        for (const row of claimed) options.onClaimed(row);
        if (claimed.length < free || free <= 0) return;
      }
    } catch (error) {
      options.logger.warn({ err: { message: messageOf(error) } }, 'claiming task runs failed; retrying at the next poll');
    }
  }

  return {
    wake,
    checkRun: (runId) => void runsToCheck.add(runId),
    stop() {
      stopping = true;
    },
    takeUnchecked() {
      const left = [...runsToCheck];
      runsToCheck.clear();
      return left;
    },
  };
}
