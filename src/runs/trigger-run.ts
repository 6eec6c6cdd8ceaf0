/**
 * Runs started on request: manual runs (CLI `dfm run`, Slack `/dfm run`, the dashboard), the run
 * API and webhooks. Params are checked against the pipeline's types before anything is written. A
 * requested run's interval is the last complete schedule interval before now (what a scheduled run
 * at the last fire covered), or [now, now) for unscheduled pipelines.
 *
 * `triggerRuns` takes several requests for one pipeline in one transaction: the webhook ingress
 * groups the requests that arrive while the previous transaction of that pipeline commits (group
 * commit). Creating a run locks the pipeline row until commit (start-queued-runs.ts), so runs of one
 * pipeline are created one transaction at a time anyway; one per request made webhooks 0.09× the
 * bare HMAC+INSERT server's throughput (58 vs 671 req/s, bench/hooks.ts), one per group does not.
 *
 * A `dedupeKey` (the Idempotency-Key) and the `maxQueuedRuns` ceiling are decided under a
 * per-pipeline transaction-scoped advisory lock: ten concurrent deliveries with one key find the
 * first one's run instead of racing it, and requests that counted at the same moment cannot pass
 * the ceiling together.
 */
import type pg from 'pg';
import type { RunTrigger } from '../db/schema.js';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError, isDfmError } from '../lib/errors.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { manualInterval } from '../pipeline/manual-interval.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';
import { createRun } from './create-run.js';
import { loadActivePipeline } from './load-active-pipeline.js';
import { startQueuedRuns } from './start-queued-runs.js';

export interface RunRequest {
  readonly params?: Record<string, unknown>;
  readonly paramsFromText?: boolean;
  readonly requestedBy?: string;
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

export type RunOutcome = { readonly runId: number; readonly created: boolean } | { readonly error: DfmError };

export async function triggerRun(pool: pg.Pool, request: RunRequest & { pipelineId: string; now?: Date }): Promise<{ runId: number; pipeline: Pipeline; created: boolean }> {
  const { pipeline, outcomes } = await triggerRuns(pool, request.pipelineId, [request], request.now);
  const outcome = outcomes[0]!;
  if ('error' in outcome) throw outcome.error;
  return { ...outcome, pipeline };
}

/**
 * One transaction for several requests of one pipeline. A request's own problem (its params, a
 * full queue) is its outcome; a problem of the pipeline (unknown, paused) or of the database
 * throws, for all of them.
 */
export async function triggerRuns(pool: pg.Pool, pipelineId: string, requests: readonly RunRequest[], at?: Date): Promise<{ pipeline: Pipeline; outcomes: RunOutcome[] }> {
  const now = at ?? new Date();
  return withTransaction(pool, async (client) => {
    const active = await loadActivePipeline(client, pipelineId);
    if (active.paused) {
      throw new DfmError('PIPELINE_PAUSED', `Pipeline "${pipelineId}" is paused (removed from the default branch or paused by a user); unpause it before running it.`);
    }
    const outcomes: RunOutcome[] = [];
    const created: number[] = [];
    const byKey = new Map<string, number>();
    const locking = requests.some((r) => r.dedupeKey !== undefined || r.maxQueuedRuns !== undefined);
    if (locking) await client.query("select pg_advisory_xact_lock(hashtext('dfm.request_run'), hashtext($1))", [pipelineId]);
    let queued: number | undefined;
    const interval = manualInterval(active.pipeline, now);
    for (const request of requests) {
      let params: Record<string, unknown>;
      try {
        params = resolveRunParams(active.pipeline, request.params ?? {}, { fromText: request.paramsFromText ?? false });
      } catch (error) {
        if (!isDfmError(error)) throw error;
        outcomes.push({ error });
        continue;
      }
      if (request.dedupeKey !== undefined) {
        const existing = byKey.get(request.dedupeKey) ?? await existingRun(client, pipelineId, request.dedupeKey);
        if (existing !== undefined) {
          await request.within?.(client, { runId: existing, created: false });
          outcomes.push({ runId: existing, created: false });
          continue;
        }
      }
      if (request.maxQueuedRuns !== undefined) {
        queued ??= await countQueued(client, pipelineId, request.maxQueuedRuns);
        if (queued >= request.maxQueuedRuns) {
          outcomes.push({ error: new DfmError('RUN_QUEUE_FULL', `Pipeline "${pipelineId}" already has ${request.maxQueuedRuns} queued runs (DFM_MAX_QUEUED_RUNS); try again once some have started.`, { retryable: true }) });
          continue;
        }
      }
      const runId = (await createRun(client, {
        pipeline: active.pipeline,
        versionId: active.versionId,
        trigger: request.trigger ?? 'manual',
        logicalTime: now,
        ...interval,
        params,
        start: false,
        ...(request.dedupeKey !== undefined ? { dedupeKey: request.dedupeKey } : {}),
        ...(request.triggerBody !== undefined ? { triggerBody: request.triggerBody } : {}),
        ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
      }))!;
      if (request.dedupeKey !== undefined) byKey.set(request.dedupeKey, runId);
      if (queued !== undefined) queued += 1;
      created.push(runId);
      await request.within?.(client, { runId, created: true });
      outcomes.push({ runId, created: true });
    }
    if (created.length > 0) await startQueuedRuns(client, pipelineId, created);
    return { pipeline: active.pipeline, outcomes };
  });
}

async function existingRun(client: pg.PoolClient, pipelineId: string, dedupeKey: string): Promise<number | undefined> {
  const { rows } = await client.query<{ id: string }>('select id from dfm.run where pipeline_id = $1 and dedupe_key = $2', [pipelineId, dedupeKey]);
  return rows[0] ? Number(rows[0].id) : undefined;
}

/** Queued runs, counted up to `max` (the index on pipeline and state keeps it short). */
async function countQueued(client: pg.PoolClient, pipelineId: string, max: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from (select 1 from dfm.run where pipeline_id = $1 and state = 'queued' limit $2) q`, [pipelineId, max]);
  return rows[0]!.n;
}
