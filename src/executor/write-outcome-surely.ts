/**
 * Writes an attempt's outcome, surviving a lost connection: on a retryable error it asks the row
 * what happened to this attempt. 'running' means the write did not land (write again); a final
 * state means it did and only the answer was lost (the ambiguous commit: done, nothing twice);
 * 'lost' means the claim was taken over (the fence kept us out). Gives up after twice the
 * heartbeat timeout (at least 30 s): by then the reaper has given the task to another worker.
 */
import type pg from 'pg';
import { classifyPostgresError } from '../db/classify-postgres-error.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { TaskAttempt } from './task-attempt.js';
import { outcomeOf, type Claim, type WriteResult } from './write-task-outcome.js';

const OUTCOME_RETRY_MAX_DELAY_MS = 5000;

export interface OutcomeWriterOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  readonly heartbeatTimeoutMs: number;
  readonly afterOutcomeCommit: ((claim: Claim) => void) | undefined;
  /** The outcome committed and promoted nothing: the run may be done. */
  readonly checkRun: (runId: number) => void;
  /** The run's task states changed (for run events). */
  readonly announce: (runId: number) => void;
}

export async function writeOutcomeSurely(options: OutcomeWriterOptions, attempt: TaskAttempt, expected: 'success' | 'failed', write: () => Promise<WriteResult>): Promise<void> {
  const { claim } = attempt;
  attempt.beginSettling();
  const deadline = Date.now() + Math.max(options.heartbeatTimeoutMs * 2, 30_000);
  for (let retry = 0; ; retry++) {
    try {
      const result = await write();
      options.afterOutcomeCommit?.(claim);
      if (!result.applied) {
        options.metrics?.fenced.inc();
        options.logger.warn({ run: claim.runId, task: claim.taskId, attempt: claim.attempt }, 'outcome rejected: this claim was taken over (reaped or cancelled)');
        return;
      }
      options.announce(claim.runId);
      if (!result.retried && result.promoted === 0) options.checkRun(claim.runId);
      return;
    } catch (error) {
      if (!classifyPostgresError(error).retryable || Date.now() > deadline) {
        options.logger.error({ err: { message: messageOf(error) }, run: claim.runId, task: claim.taskId }, 'could not record the task outcome; the reaper will retry the task');
        return;
      }
      await sleep(Math.min(OUTCOME_RETRY_MAX_DELAY_MS, 100 * 2 ** retry));
      const outcome = await outcomeOf(options.pool, claim).catch(() => 'unknown' as const);
      if (outcome === 'lost') return;
      if (outcome === expected || (expected === 'failed' && outcome === 'retrying')) {
        options.announce(claim.runId);
        options.checkRun(claim.runId);
        return;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
