/**
 * Runs durable jobs on a worker: woken by NOTIFY dfm_jobs, and polling as the safety net (a NOTIFY
 * sent while the LISTEN connection was away is lost). Each claimed job keeps its lease fresh while
 * its handler runs; a handler's DfmError says whether a retry can help (retryable), anything else
 * is retried until its attempts are spent.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { listenToChannels } from '../db/listen-channels.js';
import { isDfmError, messageOf } from '../lib/errors.js';
import { fillSlots } from '../lib/fill-slots.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { JOBS_CHANNEL } from './enqueue-job.js';
import { claimJobs, completeJob, extendLease, failJob, type ClaimedJob } from './job-queue.js';

export type JobHandler = (job: ClaimedJob) => Promise<unknown>;
export type JobHandlers = Readonly<Record<string, JobHandler>>;

export interface JobRunnerOptions {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly handlers: JobHandlers;
  readonly pollIntervalMs: number;
  /** Jobs run at once by this process. Default 2. */
  readonly concurrency?: number;
  /** A claimed job's lease, renewed every third of it while its handler runs. Default 60000 ms. */
  readonly leaseMs?: number;
}

export interface JobRunner {
  stop(): Promise<void>;
}

let sequence = 0;

export function jobWorkerId(): string {
  return `${hostname()}:${process.pid}:jobs:${++sequence}`;
}

/** Runs one claimed job to its recorded end (done, retried or failed) and returns its result. */
export async function runClaimedJob(options: Pick<JobRunnerOptions, 'pool' | 'logger' | 'metrics' | 'handlers'> & { leaseMs: number; worker: string }, job: ClaimedJob): Promise<{ outcome: 'done' | 'retried' | 'failed'; result?: unknown; error?: string }> {
  const { pool, logger, metrics, worker, leaseMs } = options;
  const log = logger.child({ job: job.id, kind: job.kind, attempt: job.attempts });
  const handler = options.handlers[job.kind];
  const lease = setInterval(() => {
    extendLease(pool, job, worker, leaseMs).catch((error: unknown) => log.warn({ err: { message: messageOf(error) } }, 'could not renew the job lease'));
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  try {
    if (handler === undefined) throw Object.assign(new Error(`no handler for jobs of kind ${job.kind} in this process`), { retryable: false });
    const result = await handler(job);
    await completeJob(pool, job, worker, result);
    metrics.jobs.inc({ kind: job.kind, outcome: 'done' });
    return { outcome: 'done', result };
  } catch (error) {
    const retryable = isDfmError(error) ? error.retryable : (error as { retryable?: boolean }).retryable ?? true;
    const outcome = await failJob(pool, job, worker, { message: messageOf(error), retryable });
    metrics.jobs.inc({ kind: job.kind, outcome });
    log[outcome === 'failed' ? 'error' : 'warn']({ err: { message: messageOf(error) } }, outcome === 'failed' ? 'job failed' : 'job failed; it will be retried');
    return { outcome, error: messageOf(error) };
  } finally {
    clearInterval(lease);
  }
}

export function startJobRunner(options: JobRunnerOptions): JobRunner {
  const concurrency = options.concurrency ?? 2;
  const leaseMs = options.leaseMs ?? 60_000;
  const worker = jobWorkerId();
  const kinds = Object.keys(options.handlers);
  const slots = fillSlots({
    slots: concurrency,
    claim: (limit) => claimJobs(options.pool, { worker, kinds, leaseMs, limit }),
    run: (job) => runClaimedJob({ ...options, leaseMs, worker }, job),
    logger: options.logger,
    what: 'jobs',
    failedMessage: (job) => `job ${job.id} left mid-way; its lease lets another worker take it`,
  });
  const fill = slots.fill;

  const listener = listenToChannels({
    databaseUrl: options.databaseUrl,
    channels: [JOBS_CHANNEL],
    applicationName: 'dfm-jobs',
    logger: options.logger,
    onNotification: () => fill(),
    onListening: () => fill(),
  });
  const poll = setInterval(fill, options.pollIntervalMs);
  // Finished jobs are history, not work: done ones are kept a week, failed ones a month (the
  // deliveries and syncs they did have their own tables).
  const prune = setInterval(() => {
    options.pool
      .query("delete from dfm.job where (state = 'done' and finished_at < now() - interval '7 days') or (state = 'failed' and finished_at < now() - interval '30 days')")
      .catch((error: unknown) => options.logger.warn({ err: { message: messageOf(error) } }, 'could not prune finished jobs'));
  }, 10 * 60_000);

  return {
    async stop() {
      clearInterval(poll);
      clearInterval(prune);
      await listener.stop();
      // A job in flight finishes (a sync is bounded by DFM_GIT_TIMEOUT_MS); its lease covers a crash.
      await slots.stop();
    },
  };
}
