/**
 * Delivers the outbox: woken by NOTIFY dfm_outbox and polling as the safety net. It claims whole
 * targets (a lane of a repository: one pull request's reports, one status context on one commit; a
 * Slack channel) and drains each one report at a time, oldest first, so a run's `success` status
 * can never be overtaken by its earlier `pending`; different targets go out in parallel,
 * `concurrency` at a time. Any number of processes may run a sender: a target has one
 * owner at a time (a lease, renewed with every report; writes fenced on it).
 *
 * A failed delivery (deliverers throw ReportError) either waits — the whole target is deferred by
 * a backoff (1 s, 2 s, 4 s … at most 5 minutes) or by the API's retry-after, and handed back so any
 * sender takes it when due — or, when the API rejected the request itself, is recorded as failed
 * and the target goes on. A report is marked delivered right after the API answered: a kill -9 in
 * between (microseconds) is the only way one is sent twice, and every report kind is idempotent for
 * GitHub and Slack (a status set again, a comment or check run updated to the same content).
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { listenToChannels } from '../db/listen-channels.js';
import { messageOf } from '../lib/errors.js';
import { fillSlots } from '../lib/fill-slots.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { OUTBOX_CHANNEL } from './enqueue-report.js';
import { claimTargets, deferTarget, healTargets, markFailed, nextReport, pruneOutbox, releaseTarget, type PendingReport } from './outbox-queue.js';
import { isReportError } from './report-error.js';

/** Sends one report; throws ReportError to say what a failure means, anything else is retried. */
export type Deliverer = (report: PendingReport) => Promise<unknown>;
export type Deliverers = Readonly<Record<string, Deliverer>>;

export interface OutboxSenderOptions {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly deliverers: Deliverers;
  readonly pollIntervalMs: number;
  /** Targets drained at once by this process. Default 32, as DFM_OUTBOX_CONCURRENCY (GitHub allows 100 concurrent requests). */
  readonly concurrency?: number;
  /** A claimed target's lease, renewed with every report. Default 60000 ms. */
  readonly leaseMs?: number;
  /** Attempts before a report that keeps failing is given up (recorded failed). Default 25: with the backoff capped at 5 minutes, about 1.5 hours of an API outage. */
  readonly maxAttempts?: number;
  /** Backoff of the first retry, doubled each attempt. Default 1000 ms. */
  readonly retryBaseMs?: number;
}

export interface OutboxSender {
  /** Looks for due targets now (tests, and after a local enqueue). */
  wake(): void;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 300_000;
let sequence = 0;

export function startOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const concurrency = options.concurrency ?? 32;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 25;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const sender = `${hostname()}:${process.pid}:outbox:${++sequence}`;
  const { pool, logger, metrics } = options;
  let stopping = false;

  /** Delivers the target's reports until none is pending, one fails, or the lease is lost. */
  const drain = async (target: string): Promise<void> => {
    let delivered: { id: number; result: unknown } | undefined;
    for (;;) {
      if (stopping && delivered === undefined) {
        await releaseTarget(pool, { target, sender });
        return;
      }
      // Records the previous delivery and reads the next report in one round trip.
      const next = await nextReport(pool, { sender, target, leaseMs, ...(delivered === undefined ? {} : { delivered }) });
      if (delivered !== undefined && !next.recorded) logger.warn({ report: delivered.id, target }, 'delivered, but the target was taken over meanwhile (the lease ran out); the new owner may send it again');
      delivered = undefined;
      if (next.superseded > 0) metrics.reports.inc({ kind: 'superseded-edit', outcome: 'superseded' }, next.superseded);
      if (next.lost) return;
      const report = next.report;
      if (report === undefined || stopping) {
        await releaseTarget(pool, { target, sender });
        return;
      }
      const outcome = await deliverOne(report);
      if (outcome === 'stop') return;
      if (outcome !== 'next') delivered = outcome;
    }
  };

  /** The delivery to record with the next read, `next` (failed for good: go on) or `stop` (deferred). */
  const deliverOne = async (report: PendingReport): Promise<{ id: number; result: unknown } | 'next' | 'stop'> => {
    const log = logger.child({ report: report.id, target: report.target, kind: report.kind, attempt: report.attempts + 1 });
    const deliverer = options.deliverers[report.kind];
    const began = performance.now();
    try {
      if (deliverer === undefined) throw new Error(`no deliverer for reports of kind ${report.kind} in this process`);
      const result = await deliverer(report);
      metrics.reportDuration.observe({ kind: report.kind }, (performance.now() - began) / 1000);
      metrics.reports.inc({ kind: report.kind, outcome: 'delivered' });
      return { id: report.id, result };
    } catch (error) {
      const message = messageOf(error).slice(0, 2000);
      if (isReportError(error) && error.kind === 'rejected') {
        metrics.reports.inc({ kind: report.kind, outcome: 'failed' });
        log.error({ err: { message } }, 'report rejected by the API; recorded as failed, the target goes on');
        return (await markFailed(pool, { id: report.id, target: report.target, sender, error: message })) ? 'next' : 'stop';
      }
      if (report.attempts + 1 >= maxAttempts) {
        metrics.reports.inc({ kind: report.kind, outcome: 'failed' });
        log.error({ err: { message } }, `report not delivered after ${maxAttempts} attempts; recorded as failed, the target goes on`);
        return (await markFailed(pool, { id: report.id, target: report.target, sender, error: `${message} (gave up after ${maxAttempts} attempts)` })) ? 'next' : 'stop';
      }
      const rateLimited = isReportError(error) && error.kind === 'rate-limited';
      const delayMs = rateLimited && error.retryAfterMs !== undefined ? error.retryAfterMs : Math.min(MAX_BACKOFF_MS, retryBaseMs * 2 ** report.attempts);
      metrics.reports.inc({ kind: report.kind, outcome: rateLimited ? 'rate_limited' : 'retried' });
      log.warn({ err: { message }, delayMs }, rateLimited ? 'rate limited; the target and its group wait as the API asked' : 'delivery failed; the target tries again after a backoff');
      await deferTarget(pool, { id: report.id, target: report.target, sender, error: message, delayMs, group: rateLimited });
      // The target may be due before the next poll: look again when it is.
      if (delayMs < options.pollIntervalMs) setTimeout(fill, delayMs + 5).unref();
      return 'stop';
    }
  };

  const slots = fillSlots({
    slots: concurrency,
    claim: (limit) => claimTargets(pool, { sender, leaseMs, limit }),
    run: drain,
    logger,
    what: 'outbox targets',
    failedMessage: (target) => `outbox target ${target} left mid-way; its lease lets another sender take it`,
  });
  const fill = slots.fill;

  const listener = listenToChannels({
    databaseUrl: options.databaseUrl,
    channels: [OUTBOX_CHANNEL],
    applicationName: 'dfm-outbox',
    logger,
    onNotification: () => fill(),
    onListening: () => fill(),
  });
  const poll = setInterval(() => {
    healTargets(pool)
      .catch((error: unknown) => logger.warn({ err: { message: messageOf(error) } }, 'could not check the outbox targets'))
      .finally(fill);
  }, options.pollIntervalMs);
  const prune = setInterval(() => {
    pruneOutbox(pool).catch((error: unknown) => logger.warn({ err: { message: messageOf(error) } }, 'could not prune the outbox'));
  }, 10 * 60_000);

  return {
    wake: fill,
    async stop() {
      stopping = true;
      clearInterval(poll);
      clearInterval(prune);
      await listener.stop();
      // A delivery in flight finishes (one API request) and is recorded; the targets are released.
      await slots.stop();
    },
  };
}
