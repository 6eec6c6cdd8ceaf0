/**
 * Executes one claimed attempt: its version's definition (cached), its runner, its timeout, then
 * its outcome (written surely: write-outcome-surely.ts). A failure is logged to the run log and
 * becomes a retry or a final failure by the task's settings; an attempt released on shutdown
 * writes nothing (its row was handed back).
 */
import { DfmError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { effectiveTaskSettings, retryDelayMs } from '../pipeline/effective-task-settings.js';
import type { LoadedVersion } from '../runs/load-version.js';
import type { Queryable } from '../db/with-transaction.js';
import type { TaskRunner } from '../tasks/define-task-runner.js';
import { appendRunLog } from './append-run-log.js';
import { buildTaskContext, type TaskContextOptions } from './build-task-context.js';
import type { ClaimedTaskRun } from './claim-task-runs.js';
import type { TaskAttempt } from './task-attempt.js';
import { toTaskError } from './to-task-error.js';
import { writeOutcomeSurely, type OutcomeWriterOptions } from './write-outcome-surely.js';
import { completeTaskRun, failTaskRun } from './write-task-outcome.js';

export interface AttemptRunnerOptions extends OutcomeWriterOptions, TaskContextOptions {
  readonly runners: ReadonlyMap<string, TaskRunner<never>>;
  readonly loadVersion: (client: Queryable, versionId: number) => Promise<LoadedVersion>;
}

export async function runTaskAttempt(options: AttemptRunnerOptions, attempt: TaskAttempt): Promise<void> {
  const { claim, controller } = attempt;
  const log = options.logger.child({ run: claim.runId, task: claim.taskId, attempt: claim.attempt, pipeline: claim.pipelineId });
  const began = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  let retryDelay = 0;
  try {
    const { pipeline, downstream } = await options.loadVersion(options.pool, claim.versionId);
    attempt.downstream = downstream.get(claim.taskId) ?? [];
    const task = pipeline.tasks.find((t) => t.id === claim.taskId);
    if (!task) throw new DfmError('TASK_UNKNOWN', `Task "${claim.taskId}" is not in version ${claim.versionId} of ${claim.pipelineId}`);
    const settings = effectiveTaskSettings(pipeline, claim.taskId);
    retryDelay = jitter(retryDelayMs(settings, claim.attempt));
    const runner = options.runners.get(claim.taskType);
    if (!runner) throw new DfmError('TASK_TYPE_NOT_RUNNABLE', `This dfm has no runner for task type "${claim.taskType}"`);
    timer = setTimeout(
      () => controller.abort(new DfmError('TASK_TIMEOUT', `Task ${claim.taskId} ran longer than its timeout of ${settings.timeoutMs} ms`, { retryable: true })),
      settings.timeoutMs,
    );
    log.debug('task attempt started');
    const output = await runner.run(buildTaskContext(options, attempt, task.config as never, log));
    if (controller.signal.aborted) throw controller.signal.reason;
    if (attempt.phase !== 'settled') await writeOutcomeSurely(options, attempt, 'success', () => completeTaskRun(options.pool, claim, output, attempt.downstream));
    record(options, claim, 'success', began);
  } catch (error) {
    if (attempt.released) return;
    const reason = controller.signal.aborted ? controller.signal.reason : error;
    const taskError = toTaskError(reason);
    log.warn({ code: taskError.code, retryable: taskError.retryable }, `task attempt failed: ${taskError.message}`);
    void appendRunLog(options.pool, { runId: claim.runId, taskId: claim.taskId, attempt: claim.attempt, level: 'error', message: `${taskError.code}: ${taskError.message}` });
    await writeOutcomeSurely(options, attempt, 'failed', () => failTaskRun(options.pool, claim, taskError, retryDelay, attempt.downstream));
    record(options, claim, 'failure', began);
    // The condition failTaskRun's statement applies (write-task-outcome.ts) to schedule a retry.
    if (taskError.retryable && claim.attempt < claim.maxAttempts) options.metrics?.retries.inc({ pipeline: claim.pipelineId, type: claim.taskType });
  } finally {
    clearTimeout(timer);
  }
}

function record(options: AttemptRunnerOptions, claim: ClaimedTaskRun, outcome: string, began: bigint): void {
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  options.metrics?.taskRunsFinished.inc({ pipeline: claim.pipelineId, type: claim.taskType, outcome });
  options.metrics?.taskDuration.observe({ type: claim.taskType }, seconds);
  options.metrics?.taskSeconds.inc({ pipeline: claim.pipelineId, type: claim.taskType }, seconds);
}

/** Retries of many tasks failing at once spread over [50 %, 100 %] of the delay. */
function jitter(ms: number): number {
  return Math.round(ms * (0.5 + Math.random() * 0.5));
}
