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
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { classifyPostgresError } from '../db/classify-postgres-error.js';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { effectiveTaskSettings, retryDelayMs } from '../pipeline/effective-task-settings.js';
import type { Connections } from '../tasks/create-connections.js';
import type { TaskContext, TaskRunner } from '../tasks/define-task-runner.js';
import { TASK_READY_CHANNEL } from '../scheduler/start-queued-runs.js';
import { claimTaskRuns, type ClaimedTaskRun } from './claim-task-runs.js';
import { createVersionCache } from './load-version.js';
import { reapStaleTaskRuns } from './reap-stale-task-runs.js';
import { toTaskError } from './to-task-error.js';
import {
  completeTaskRun,
  completeTaskRunIn,
  failTaskRun,
  heartbeatTaskRuns,
  outcomeOf,
  releaseTaskRuns,
  type Claim,
  type WriteResult,
} from './write-task-outcome.js';
import { closeFinishedRuns, closeRunIfDone, finishRun } from './settle-task-run.js';
import { appendRunLog } from './append-run-log.js';

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

interface InFlight {
  readonly claim: ClaimedTaskRun & Claim;
  readonly controller: AbortController;
  released: boolean;
  completedInline: boolean;
  /** Its outcome is being written: heartbeats skip it (the row may be locked by that write). */
  settling: boolean;
  downstream: readonly string[] | undefined;
  done: Promise<void>;
}

const OUTCOME_RETRY_MAX_DELAY_MS = 5000;

export function startWorker(options: WorkerOptions): Worker {
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = options.logger.child({ worker: id });
  const loadVersion = createVersionCache();
  const inFlight = new Map<number, InFlight>();
  let stopping = false;
  let claiming = false;
  let wakeAgain = false;
  let listener: pg.Client | undefined;
  let listenerRetry: NodeJS.Timeout | undefined;
  /** Runs whose tasks this worker finished: the next claim statement says which have nothing left. */
  const runsToCheck = new Set<number>();
  const closings = new Set<Promise<void>>();

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
        const free = options.concurrency - inFlight.size;
        if (free <= 0 && runsToCheck.size === 0) return;
        // Taken out before the statement: a run added again while it runs (another of its tasks
        // committed meanwhile) must be checked again by the next statement, with a newer snapshot.
        const checks = [...runsToCheck];
        runsToCheck.clear();
        let result: Awaited<ReturnType<typeof claimTaskRuns>>;
        try {
          result = await claimTaskRuns(options.pool, id, Math.max(free, 0), checks);
        } catch (error) {
          for (const runId of checks) runsToCheck.add(runId);
          throw error;
        }
        const { claimed, runsWithoutOpenTasks } = result;
        for (const runId of runsWithoutOpenTasks) {
          const closing = closeRun(runId).finally(() => closings.delete(closing));
          closings.add(closing);
        }
        options.metrics?.claims.inc(claimed.length);
        for (const row of claimed) execute({ ...row, workerId: id });
        if (claimed.length < free || free <= 0) return;
      }
    } catch (error) {
      logger.warn({ err: { message: messageOf(error) } }, 'claiming task runs failed; retrying at the next poll');
    }
  }

  function execute(claim: ClaimedTaskRun & Claim): void {
    const controller = new AbortController();
    const entry: InFlight = { claim, controller, released: false, completedInline: false, settling: false, downstream: undefined, done: Promise.resolve() };
    inFlight.set(claim.id, entry);
    options.metrics?.tasksRunning.set(inFlight.size);
    entry.done = runTask(entry).finally(() => {
      // Only our own entry: an attempt whose outcome write outlived a database restart finishes
      // after the reaper gave its task run to a new attempt here, and deleting that one stopped
      // its heartbeat, so it was reaped in turn until the retries ran out.
      if (inFlight.get(claim.id) === entry) inFlight.delete(claim.id);
      options.metrics?.tasksRunning.set(inFlight.size);
      wake();
    });
  }

  async function runTask(entry: InFlight): Promise<void> {
    const { claim, controller } = entry;
    const log = logger.child({ run: claim.runId, task: claim.taskId, attempt: claim.attempt, pipeline: claim.pipelineId });
    const began = process.hrtime.bigint();
    let timer: NodeJS.Timeout | undefined;
    let retryDelay = 0;
    try {
      const { pipeline, downstream } = await loadVersion(options.pool, claim.versionId);
      entry.downstream = downstream.get(claim.taskId) ?? [];
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
      const output = await runner.run(buildContext(entry, task.config as never, log));
      if (controller.signal.aborted) throw controller.signal.reason;
      if (!entry.completedInline) await writeOutcome(entry, 'success', () => completeTaskRun(options.pool, claim, output, entry.downstream));
      record(claim, 'success', began);
    } catch (error) {
      if (entry.released) return;
      const reason = controller.signal.aborted ? controller.signal.reason : error;
      const taskError = toTaskError(reason);
      log.warn({ code: taskError.code, retryable: taskError.retryable }, `task attempt failed: ${taskError.message}`);
      void appendRunLog(options.pool, { runId: claim.runId, taskId: claim.taskId, attempt: claim.attempt, level: 'error', message: `${taskError.code}: ${taskError.message}` });
      await writeOutcome(entry, 'failed', () => failTaskRun(options.pool, claim, taskError, retryDelay, entry.downstream));
      record(claim, 'failure', began);
    } finally {
      clearTimeout(timer);
    }
  }

  function record(claim: ClaimedTaskRun, outcome: string, began: bigint): void {
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    options.metrics?.taskRunsFinished.inc({ pipeline: claim.pipelineId, type: claim.taskType, outcome });
    options.metrics?.taskDuration.observe({ pipeline: claim.pipelineId, type: claim.taskType }, seconds);
  }

  /**
   * Writes an outcome, surviving a lost connection: on a retryable error it asks the row what
   * happened to this attempt. 'running' means the write did not land (write again); a final state
   * means it did and only the answer was lost (the ambiguous commit: done, nothing twice); 'lost'
   * means the claim was taken over (the fence kept us out).
   */
  async function writeOutcome(entry: InFlight, expected: 'success' | 'failed', write: () => Promise<WriteResult>): Promise<void> {
    const { claim } = entry;
    entry.settling = true;
    const deadline = Date.now() + Math.max(options.heartbeatTimeoutMs * 2, 30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await write();
        options.afterOutcomeCommit?.(claim);
        if (!result.applied) {
          options.metrics?.fenced.inc();
          logger.warn({ run: claim.runId, task: claim.taskId, attempt: claim.attempt }, 'outcome rejected: this claim was taken over (reaped or cancelled)');
        } else if (!result.retried && result.promoted === 0) {
          checkRun(claim);
        }
        return;
      } catch (error) {
        if (!classifyPostgresError(error).retryable || Date.now() > deadline) {
          logger.error({ err: { message: messageOf(error) }, run: claim.runId, task: claim.taskId }, 'could not record the task outcome; the reaper will retry the task');
          return;
        }
        await sleep(Math.min(OUTCOME_RETRY_MAX_DELAY_MS, 100 * 2 ** attempt));
        const outcome = await outcomeOf(options.pool, claim).catch(() => 'unknown' as const);
        if (outcome === 'lost') return;
        if (outcome === expected || (expected === 'failed' && outcome === 'retrying')) {
          checkRun(claim);
          return;
        }
      }
    }
  }

  /** After an outcome committed: the run may be done; the next claim (right after) checks it. */
  function checkRun(claim: ClaimedTaskRun): void {
    runsToCheck.add(claim.runId);
  }

  async function closeRun(runId: number): Promise<void> {
    try {
      const closed = await withTransaction(options.pool, (client) => finishRun(client, runId));
      if (closed) options.metrics?.runsFinished.inc({ pipeline: closed.pipelineId, state: closed.state });
    } catch (error) {
      // The reaper's sweep closes it later.
      logger.warn({ err: { message: messageOf(error) }, run: runId }, 'could not close the run yet');
    }
  }

  function buildContext(entry: InFlight, config: never, log: Logger): TaskContext<never> {
    const { claim, controller } = entry;
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
      transactional: async (fn) => {
        let output: Awaited<ReturnType<typeof fn>> | undefined;
        const result = await withTransaction(options.pool, async (client) => {
          output = await fn(client);
          if (controller.signal.aborted) throw controller.signal.reason;
          entry.settling = true;
          const written = await completeTaskRunIn(client, claim, output, entry.downstream);
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
            entry.settling = false;
            throw error;
          });
        entry.completedInline = true;
        if (result.promoted === 0) checkRun(claim);
        return output as Awaited<ReturnType<typeof fn>>;
      },
    };
  }

  async function heartbeat(): Promise<void> {
    const claims = [...inFlight.values()].filter((e) => !e.released && !e.settling).map((e) => e.claim);
    if (claims.length === 0) return;
    try {
      const lost = await heartbeatTaskRuns(options.pool, id, claims);
      for (const taskRunId of lost) {
        const entry = inFlight.get(taskRunId);
        if (entry && !entry.settling && !entry.completedInline && !entry.controller.signal.aborted) {
          logger.warn({ run: entry.claim.runId, task: entry.claim.taskId, attempt: entry.claim.attempt }, 'task run is no longer ours (cancelled or reaped): aborting it');
          entry.controller.abort(new DfmError('CLAIM_LOST', 'The task run was cancelled or given to another worker'));
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
      for (const run of closed) options.metrics?.runsFinished.inc({ pipeline: run.pipelineId, state: run.state });
      if (reaped.length > 0) {
        options.metrics?.reaped.inc(reaped.length);
        logger.warn({ reaped }, 'returned task runs of workers that stopped heartbeating to the queue');
        wake();
      }
    } catch (error) {
      logger.warn({ err: { message: messageOf(error) } }, 'reaping failed');
    }
  }

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'dfm-worker-listen' });
    client.on('notification', () => wake());
    client.on('error', (error) => {
      logger.warn({ err: { message: error.message } }, 'LISTEN connection lost; reconnecting (polling meanwhile)');
      if (listener === client) listener = undefined;
      void client.end().catch(() => {});
      if (!stopping) listenerRetry = setTimeout(() => void listen(), 1000);
    });
    try {
      await client.connect();
      await client.query(`listen ${TASK_READY_CHANNEL}`);
      if (stopping) {
        await client.end();
        return;
      }
      listener = client;
      wake();
    } catch (error) {
      await client.end().catch(() => {});
      logger.warn({ err: { message: messageOf(error) } }, 'could not LISTEN; retrying (polling meanwhile)');
      if (!stopping) listenerRetry = setTimeout(() => void listen(), 1000);
    }
  }

  const poll = setInterval(wake, options.pollIntervalMs);
  const beat = setInterval(() => void heartbeat(), options.heartbeatIntervalMs);
  const reaper = options.reap === false ? undefined : setInterval(() => void reap(), Math.max(500, Math.floor(options.heartbeatTimeoutMs / 2)));
  void listen();
  logger.info({ concurrency: options.concurrency }, 'worker started');

  let stopped: Promise<void> | undefined;
  return {
    id,
    wake,
    inFlight: () => inFlight.size,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        clearInterval(poll);
        clearInterval(reaper);
        clearTimeout(listenerRetry);
        await listener?.end().catch(() => {});
        listener = undefined;
        const pending = [...inFlight.values()];
        if (pending.length > 0) {
          logger.info({ inFlight: pending.length, graceMs: options.shutdownGraceMs }, 'waiting for in-flight task runs');
          let graceTimer: NodeJS.Timeout | undefined;
          await Promise.race([Promise.all(pending.map((e) => e.done)), new Promise((r) => (graceTimer = setTimeout(r, options.shutdownGraceMs)))]);
          clearTimeout(graceTimer);
        }
        const left = [...inFlight.values()];
        if (left.length > 0) {
          for (const entry of left) entry.released = true;
          const released = await releaseTaskRuns(options.pool, id, left.map((e) => e.claim)).catch((error: unknown) => {
            logger.error({ err: { message: messageOf(error) } }, 'could not release in-flight task runs; the reaper will');
            return 0;
          });
          for (const entry of left) entry.controller.abort(new DfmError('WORKER_STOPPING', 'The worker is shutting down; the task run was released', { retryable: true }));
          logger.warn({ released }, 'released in-flight task runs after the grace period');
          await Promise.all(left.map((e) => e.done));
        }
        clearInterval(beat);
        await Promise.all(closings);
        // Runs whose last outcome this worker wrote but had no claim left to check them on.
        for (const runId of runsToCheck) {
          const closed = await closeRunIfDone(options.pool, runId).catch(() => undefined);
          if (closed) options.metrics?.runsFinished.inc({ pipeline: closed.pipelineId, state: closed.state });
        }
        runsToCheck.clear();
        logger.info('worker stopped');
      })()),
  };
}

function jitter(ms: number): number {
  return Math.round(ms * (0.5 + Math.random() * 0.5));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
