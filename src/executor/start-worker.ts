/**
 * A worker: claims ready task runs, executes them, writes their outcome, fenced.
 *
 * Wake-ups: LISTEN dfm_task_ready (NOTIFY is sent only by control transactions that make tasks
 * ready in bulk: a run starting), a fallback poll every pollIntervalMs, and the worker itself right
 * after each outcome it writes, since that may have made downstream tasks ready. A linear chain
 * therefore never waits for a notification or a poll, and an idle worker costs one LISTEN
 * connection and a poll query every few seconds.
 *
 * Liveness: a heartbeat every heartbeatIntervalMs; any worker's reaper returns task runs whose
 * heartbeat is older than heartbeatTimeoutMs to the queue (kill -9, OOM, partition). A heartbeat
 * that finds a task run no longer ours (reaped or cancelled) aborts it locally.
 *
 * The parts, each in its own file: the claim loop (create-claim-loop.ts), one attempt's execution
 * (run-task-attempt.ts, task-attempt.ts, build-task-context.ts, write-outcome-surely.ts), and here
 * the heartbeat, the reaper, closing runs, and the stop sequence.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { listenToChannels } from '../db/listen-channels.js';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { announceRunChanges } from '../runs/announce-run-changes.js';
import { createVersionCache } from '../runs/load-version.js';
import { TASK_READY_CHANNEL } from '../runs/run-channels.js';
import { closeFinishedRuns, closeRunIfDone, finishRun, type ClosedRun } from '../runs/settle-task-run.js';
import type { Connections } from '../tasks/create-connections.js';
import type { TaskRunner } from '../tasks/define-task-runner.js';
import { createClaimLoop } from './create-claim-loop.js';
import { reapStaleTaskRuns } from './reap-stale-task-runs.js';
import { runTaskAttempt, type AttemptRunnerOptions } from './run-task-attempt.js';
import { abortsOnLostClaim, createTaskAttempt, needsHeartbeat, type TaskAttempt } from './task-attempt.js';
import { heartbeatTaskRuns, releaseTaskRuns, type Claim } from './write-task-outcome.js';

export interface WorkerOptions {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly runners: ReadonlyMap<string, TaskRunner<never>>;
  readonly connections: Connections;
  readonly metrics?: Metrics;
  readonly workerId?: string;
  /** Task runs executed at once. */
  readonly concurrency: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** On stop, how long in-flight task runs may finish before they are released, in ms. */
  readonly shutdownGraceMs: number;
  /** Run the reaper in this worker (default true; any number of workers may). */
  readonly reap?: boolean;
  /** Fault injection for tests: called after an outcome transaction committed, before the worker sees it. */
  readonly afterOutcomeCommit?: (claim: Claim) => void;
}

export interface Worker {
  readonly id: string;
  /** Look for ready task runs now. */
  wake(): void;
  /** Stop claiming; finish in-flight work within the grace period, then release what is left. */
  stop(): Promise<void>;
  readonly inFlight: () => number;
}

export function startWorker(options: WorkerOptions): Worker {
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = options.logger.child({ worker: id });
  const inFlight = new Map<number, TaskAttempt>();
  const announcer = announceRunChanges(options.pool, logger);
  const closer = createRunCloser(options.pool, logger, options.metrics);

  const claims = createClaimLoop({
    pool: options.pool,
    workerId: id,
    logger,
    metrics: options.metrics,
    free: () => options.concurrency - inFlight.size,
    onClaimed: (row) => execute({ ...row, workerId: id }),
    onRunDone: (runId) => closer.close(runId),
  });

  const attemptOptions: AttemptRunnerOptions = {
    pool: options.pool,
    logger,
    metrics: options.metrics,
    runners: options.runners,
    connections: options.connections,
    loadVersion: createVersionCache(),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    afterOutcomeCommit: options.afterOutcomeCommit,
    checkRun: (runId) => claims.checkRun(runId),
    announce: (runId) => announcer.add(runId),
  };

  function execute(claim: TaskAttempt['claim']): void {
    const attempt = createTaskAttempt(claim);
    inFlight.set(claim.id, attempt);
    options.metrics?.tasksRunning.set(inFlight.size);
    announcer.add(claim.runId);
    attempt.done = runTaskAttempt(attemptOptions, attempt).finally(() => {
      // Only our own entry: an attempt whose outcome write outlived a database restart finishes
      // after the reaper gave its task run to a new attempt here, and deleting that one stopped
      // its heartbeat, so it was reaped in turn until the retries ran out.
      if (inFlight.get(claim.id) === attempt) inFlight.delete(claim.id);
      options.metrics?.tasksRunning.set(inFlight.size);
      claims.wake();
    });
  }

  async function heartbeat(): Promise<void> {
    const beating = [...inFlight.values()].filter(needsHeartbeat).map((a) => a.claim);
    if (beating.length === 0) return;
    try {
      const lost = await heartbeatTaskRuns(options.pool, id, beating);
      for (const taskRunId of lost) {
        const attempt = inFlight.get(taskRunId);
        if (attempt && abortsOnLostClaim(attempt)) {
          logger.warn({ run: attempt.claim.runId, task: attempt.claim.taskId, attempt: attempt.claim.attempt }, 'task run is no longer ours (cancelled or reaped): aborting it');
          attempt.controller.abort(new DfmError('CLAIM_LOST', 'The task run was cancelled or given to another worker'));
        }
      }
    } catch (error) {
      logger.warn({ err: { message: messageOf(error) } }, 'heartbeat failed');
    }
  }

  async function reap(): Promise<void> {
    try {
      const reaped = await reapStaleTaskRuns(options.pool, options.heartbeatTimeoutMs);
      const closed = await closeFinishedRuns(options.pool);
      for (const run of closed) closer.count(run);
      if (reaped.length > 0) {
        options.metrics?.reaped.inc(reaped.length);
        logger.warn({ reaped }, 'returned task runs of workers that stopped heartbeating to the queue');
        for (const r of reaped) announcer.add(r.runId);
        claims.wake();
      }
    } catch (error) {
      logger.warn({ err: { message: messageOf(error) } }, 'reaping failed');
    }
  }

  const poll = setInterval(claims.wake, options.pollIntervalMs);
  const beat = setInterval(() => void heartbeat(), options.heartbeatIntervalMs);
  const reaper = options.reap === false ? undefined : setInterval(() => void reap(), Math.max(500, Math.floor(options.heartbeatTimeoutMs / 2)));
  const listener = listenToChannels({
    databaseUrl: options.databaseUrl,
    channels: [TASK_READY_CHANNEL],
    applicationName: 'dfm-worker-listen',
    logger,
    onNotification: () => claims.wake(),
    // Tasks made ready while the connection was down announced nothing: look now.
    onListening: () => claims.wake(),
  });
  logger.info({ concurrency: options.concurrency }, 'worker started');

  /**
   * Stop claiming; give in-flight attempts the grace period, then hand the rest back (released,
   * their attempt not counted) and abort them; then close the runs this worker's last outcomes
   * may have finished, which no claim statement is left to check.
   */
  async function stop(): Promise<void> {
    claims.stop();
    clearInterval(poll);
    clearInterval(reaper);
    await listener.stop();
    await waitForInFlight();
    await releaseInFlight();
    clearInterval(beat);
    await closer.settle();
    for (const runId of claims.takeUnchecked()) {
      const closed = await closeRunIfDone(options.pool, runId).catch(() => undefined);
      if (closed) closer.count(closed);
    }
    await announcer.stop();
    logger.info('worker stopped');
  }

  async function waitForInFlight(): Promise<void> {
    const pending = [...inFlight.values()];
    if (pending.length === 0) return;
    logger.info({ inFlight: pending.length, graceMs: options.shutdownGraceMs }, 'waiting for in-flight task runs');
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending.map((a) => a.done)), new Promise((r) => (graceTimer = setTimeout(r, options.shutdownGraceMs)))]);
    clearTimeout(graceTimer);
  }

  async function releaseInFlight(): Promise<void> {
    const left = [...inFlight.values()];
    if (left.length === 0) return;
    for (const attempt of left) attempt.release();
    const released = await releaseTaskRuns(options.pool, id, left.map((a) => a.claim)).catch((error: unknown) => {
      logger.error({ err: { message: messageOf(error) } }, 'could not release in-flight task runs; the reaper will');
      return 0;
    });
    for (const attempt of left) attempt.controller.abort(new DfmError('WORKER_STOPPING', 'The worker is shutting down; the task run was released', { retryable: true }));
    logger.warn({ released }, 'released in-flight task runs after the grace period');
    for (const attempt of left) announcer.add(attempt.claim.runId);
    await Promise.all(left.map((a) => a.done));
  }

  let stopped: Promise<void> | undefined;
  return {
    id,
    wake: claims.wake,
    inFlight: () => inFlight.size,
    stop: () => (stopped ??= stop()),
  };
}

/** Closes the runs a claim statement found with nothing left to do, and counts every closed run. */
function createRunCloser(pool: pg.Pool, logger: Logger, metrics: Metrics | undefined) {
  const closings = new Set<Promise<void>>();
  const count = (run: ClosedRun) => {
    metrics?.runsFinished.inc({ pipeline: run.pipelineId, trigger: run.trigger, state: run.state });
    metrics?.runDuration.observe({ trigger: run.trigger, state: run.state }, run.seconds);
    metrics?.runSeconds.inc({ pipeline: run.pipelineId }, run.seconds);
  };
  async function closeNow(runId: number): Promise<void> {
    try {
      const closed = await withTransaction(pool, (client) => finishRun(client, runId));
      if (closed) count(closed);
    } catch (error) {
      // The reaper's sweep closes it later.
      logger.warn({ err: { message: messageOf(error) }, run: runId }, 'could not close the run yet');
    }
  }
  return {
    close(runId: number): void {
      const closing = closeNow(runId).finally(() => closings.delete(closing));
      closings.add(closing);
    },
    count,
    /** Waits for the closings under way. */
    settle: () => Promise.all(closings).then(() => {}),
  };
}
