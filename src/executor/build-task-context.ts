/**
 * What a task runner sees of the world (TaskContext): its config and params, the builtins
 * (`:run_id`, `:interval_start`, …), its signal, logger and run log, its upstream outputs, the
 * named connections, and `transactional`: the task's own writes and its success in one
 * transaction, so they commit together or not at all.
 */
import type pg from 'pg';
import { classifyPostgresError } from '../db/classify-postgres-error.js';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { Connections } from '../tasks/create-connections.js';
import type { TaskContext } from '../tasks/define-task-runner.js';
import { appendRunLog } from './append-run-log.js';
import type { TaskAttempt } from './task-attempt.js';
import { completeTaskRunIn, outcomeOf, type Claim } from './write-task-outcome.js';

export interface TaskContextOptions {
  readonly pool: pg.Pool;
  readonly connections: Connections;
  readonly metrics: Metrics | undefined;
  readonly afterOutcomeCommit: ((claim: Claim) => void) | undefined;
  readonly checkRun: (runId: number) => void;
  readonly announce: (runId: number) => void;
}

export function buildTaskContext(options: TaskContextOptions, attempt: TaskAttempt, config: never, log: Logger): TaskContext<never> {
  const { claim, controller } = attempt;
  return {
    pipelineId: claim.pipelineId,
    runId: claim.runId,
    taskId: claim.taskId,
    attempt: claim.attempt,
    config,
    params: claim.params,
    builtins: {
      logical_time: claim.logicalTime.toISOString(),
      interval_start: claim.intervalStart.toISOString(),
      interval_end: claim.intervalEnd.toISOString(),
      run_id: String(claim.runId),
      pipeline_id: claim.pipelineId,
      trigger_body: claim.triggerBody === null || claim.triggerBody === undefined ? null : JSON.stringify(claim.triggerBody),
    },
    signal: controller.signal,
    logger: log,
    metrics: options.metrics,
    log: (message, level = 'info') => {
      void appendRunLog(options.pool, { runId: claim.runId, taskId: claim.taskId, attempt: claim.attempt, level, message });
    },
    upstreamOutputs: async () => {
      const { rows } = await options.pool.query<{ task_id: string; output: unknown }>(
        "select task_id, output from dfm.task_run where run_id = $1 and state = 'success'",
        [claim.runId],
      );
      return Object.fromEntries(rows.map((r) => [r.task_id, r.output]));
    },
    postgres: (name) => options.connections.postgres(name),
    kafkaBrokers: (name) => options.connections.kafkaBrokers(name),
    transactional: (fn) => completeInTransaction(options, attempt, fn),
  };
}

/** Runs `fn` and writes the attempt's success in the same transaction. */
async function completeInTransaction<T>(options: TaskContextOptions, attempt: TaskAttempt, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { claim, controller } = attempt;
  let output: T | undefined;
  const result = await withTransaction(options.pool, async (client) => {
    output = await fn(client);
    if (controller.signal.aborted) throw controller.signal.reason;
    attempt.beginSettling();
    const written = await completeTaskRunIn(client, claim, output, attempt.downstream);
    if (!written.applied) throw new DfmError('CLAIM_LOST', 'This attempt lost its claim (reaped or cancelled); its writes were rolled back');
    return written;
  })
    .then((written) => {
      options.afterOutcomeCommit?.(claim);
      return written;
    })
    .catch(async (error: unknown) => {
      // The ambiguous commit: the transaction may have committed although we saw an error.
      if (classifyPostgresError(error).retryable && (await outcomeOf(options.pool, claim).catch(() => 'unknown')) === 'success') {
        return { applied: true, promoted: 0 };
      }
      attempt.settlingFailed();
      throw error;
    });
  attempt.settledInline();
  options.announce(claim.runId);
  if (result.promoted === 0) options.checkRun(claim.runId);
  return output as T;
}
