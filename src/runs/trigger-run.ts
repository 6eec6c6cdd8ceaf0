/**
 * Runs started on request: manual runs (CLI `dfm run`, Slack `/dfm run`, the dashboard), the run
 * API and webhooks. Params are checked against the pipeline's types before anything is written. A
 * requested run's interval is the last complete schedule interval before now (what a scheduled run
 * at the last fire covered), or [now, now) for unscheduled pipelines.
 *
 * Webhooks and the run API pass a `dedupeKey` (the Idempotency-Key) and a `maxQueuedRuns` ceiling.
 * Both are decided under a per-pipeline transaction-scoped advisory lock: ten concurrent deliveries
 * with one key find the first one's run instead of racing it, and the count of queued runs cannot
 * be passed by requests that counted at the same moment. The lock is held for one count and one
 * insert (a millisecond or two), so it serializes requests for one pipeline only.
 */
import type pg from 'pg';
import type { RunTrigger } from '../db/schema.js';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { manualInterval } from '../pipeline/manual-interval.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';
import { createRun } from './create-run.js';
import { loadActivePipeline } from './load-active-pipeline.js';

export interface RunRequest {
  readonly pipelineId: string;
  readonly params?: Record<string, unknown>;
  readonly paramsFromText?: boolean;
  readonly requestedBy?: string;
  readonly now?: Date;
  /** Default manual. */
  readonly trigger?: Extract<RunTrigger, 'manual' | 'webhook' | 'api'>;
  /** Repeats with the same key return the first run (`created: false`). */
  readonly dedupeKey?: string;
  /** The webhook delivery's JSON body, kept with the run as data. */
  readonly triggerBody?: unknown;
  /** Refuse with RUN_QUEUE_FULL when the pipeline already has this many queued runs. */
  readonly maxQueuedRuns?: number;
  /** Runs in the run's transaction before it commits (the audit row). */
  readonly within?: (client: pg.PoolClient, run: { runId: number; created: boolean }) => Promise<void>;
}

export async function triggerRun(pool: pg.Pool, request: RunRequest): Promise<{ runId: number; pipeline: Pipeline; created: boolean }> {
  const now = request.now ?? new Date();
  return withTransaction(pool, async (client) => {
    const active = await loadActivePipeline(client, request.pipelineId);
    if (active.paused) {
      throw new DfmError('PIPELINE_PAUSED', `Pipeline "${request.pipelineId}" is paused (removed from the default branch or paused by a user); unpause it before running it.`);
    }
    const params = resolveRunParams(active.pipeline, request.params ?? {}, { fromText: request.paramsFromText ?? false });
    const finish = async (runId: number, created: boolean) => {
      await request.within?.(client, { runId, created });
      return { runId, pipeline: active.pipeline, created };
    };
    if (request.dedupeKey !== undefined || request.maxQueuedRuns !== undefined) {
      await client.query("select pg_advisory_xact_lock(hashtext('dfm.request_run'), hashtext($1))", [request.pipelineId]);
      if (request.dedupeKey !== undefined) {
        const existing = await client.query<{ id: string }>('select id from dfm.run where pipeline_id = $1 and dedupe_key = $2', [request.pipelineId, request.dedupeKey]);
        if (existing.rows[0]) return finish(Number(existing.rows[0].id), false);
      }
      if (request.maxQueuedRuns !== undefined) {
        const queued = await client.query<{ n: number }>(
          `select count(*)::int as n from (select 1 from dfm.run where pipeline_id = $1 and state = 'queued' limit $2) q`,
          [request.pipelineId, request.maxQueuedRuns],
        );
        if (queued.rows[0]!.n >= request.maxQueuedRuns) {
          throw new DfmError('RUN_QUEUE_FULL', `Pipeline "${request.pipelineId}" already has ${request.maxQueuedRuns} queued runs (DFM_MAX_QUEUED_RUNS); try again once some have started.`, { retryable: true });
        }
      }
    }
    const interval = manualInterval(active.pipeline, now);
    const runId = await createRun(client, {
      pipeline: active.pipeline,
      versionId: active.versionId,
      trigger: request.trigger ?? 'manual',
      logicalTime: now,
      ...interval,
      params,
      ...(request.dedupeKey !== undefined ? { dedupeKey: request.dedupeKey } : {}),
      ...(request.triggerBody !== undefined ? { triggerBody: request.triggerBody } : {}),
      ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    });
    return finish(runId!, true);
  });
}
