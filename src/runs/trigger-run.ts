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
import { auditEntrySchema } from '../audit/record-audit.js';
import { effectiveTaskSettings } from '../pipeline/effective-task-settings.js';
import { loadActivePipeline, type ActivePipeline } from './load-active-pipeline.js';
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
  /** The audit row of a created run, written with it (action `run.trigger`, target the pipeline; `detail.run` is added). */
  readonly audit?: { readonly actor: string; readonly via: 'api' | 'webhook' | 'cli' | 'slack' | 'dashboard'; readonly detail?: Record<string, unknown> };
  /** Runs in the run's transaction before it commits, for each request that names a run. */
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
 * throws, for all of them. The new runs, their task runs and their audit rows are written by one
 * statement (ids taken from the sequence first, so each request knows its run): a statement per
 * run made a group of 9 take 59 ms on the loaded 2-core machine, most of it round trips.
 */
export async function triggerRuns(pool: pg.Pool, pipelineId: string, requests: readonly RunRequest[], at?: Date): Promise<{ pipeline: Pipeline; outcomes: RunOutcome[] }> {
  const now = at ?? new Date();
  return withTransaction(pool, async (client) => {
    const locking = requests.some((r) => r.dedupeKey !== undefined || r.maxQueuedRuns !== undefined);
    // The lock first, in its own statement: a statement's snapshot is taken when it starts, so a
    // count in the statement that waited for the lock would miss the runs its holder committed.
    if (locking) await client.query("select pg_advisory_xact_lock(hashtext('dfm.request_run'), hashtext($1))", [pipelineId]);
    const keys = [...new Set(requests.flatMap((r) => (r.dedupeKey === undefined ? [] : [r.dedupeKey])))];
    const ceiling = Math.min(...requests.map((r) => r.maxQueuedRuns ?? Number.POSITIVE_INFINITY));
    const group = await readGroup(client, pipelineId, keys, Number.isFinite(ceiling) ? ceiling : 0, requests.length);
    const { active, existing, ids } = group;
    let queued = group.queued;
    if (active.paused) {
      throw new DfmError('PIPELINE_PAUSED', `Pipeline "${pipelineId}" is paused (removed from the default branch or paused by a user); unpause it before running it.`);
    }
    const outcomes: (RunOutcome | { pending: number })[] = [];
    const fresh: { request: RunRequest; params: Record<string, unknown> }[] = [];
    const newKeys = new Map<string, number>();
    for (const request of requests) {
      let params: Record<string, unknown>;
      try {
        params = resolveRunParams(active.pipeline, request.params ?? {}, { fromText: request.paramsFromText ?? false });
      } catch (error) {
        if (!isDfmError(error)) throw error;
        outcomes.push({ error });
        continue;
      }
      const key = request.dedupeKey;
      const found = key === undefined ? undefined : existing.get(key);
      if (found !== undefined) {
        outcomes.push({ runId: found, created: false });
        continue;
      }
      const sibling = key === undefined ? undefined : newKeys.get(key);
      if (sibling !== undefined) {
        outcomes.push({ pending: sibling });
        continue;
      }
      if (request.maxQueuedRuns !== undefined && queued >= request.maxQueuedRuns) {
        outcomes.push({ error: new DfmError('RUN_QUEUE_FULL', `Pipeline "${pipelineId}" already has ${request.maxQueuedRuns} queued runs (DFM_MAX_QUEUED_RUNS); try again once some have started.`, { retryable: true }) });
        continue;
      }
      queued += 1;
      if (key !== undefined) newKeys.set(key, fresh.length);
      outcomes.push({ pending: fresh.length });
      fresh.push({ request, params });
    }
    if (fresh.length > 0) await insertRuns(client, active, fresh, ids, now);
    const resolved = outcomes.map((o): RunOutcome => ('pending' in o ? { runId: ids[o.pending]!, created: true } : o));
    // A repeat inside the group names the run its first copy created, as a repeat in a later group would.
    const seen = new Set<number>();
    const final = resolved.map((o) => {
      if (!('runId' in o) || !o.created) return o;
      const repeat = seen.has(o.runId);
      seen.add(o.runId);
      return repeat ? { runId: o.runId, created: false } : o;
    });
    for (const [index, outcome] of final.entries()) if ('runId' in outcome) await requests[index]!.within?.(client, outcome);
    if (fresh.length > 0) await startQueuedRuns(client, pipelineId, ids.slice(0, fresh.length));
    return { pipeline: active.pipeline, outcomes: final };
  });
}

/** The new runs with their task runs and audit rows, in one statement; their ids in `fresh` order. */
async function insertRuns(client: pg.PoolClient, active: ActivePipeline, fresh: readonly { request: RunRequest; params: Record<string, unknown> }[], ids: readonly number[], now: Date): Promise<void> {
  const interval = manualInterval(active.pipeline, now);
  const runs = fresh.map(({ request, params }, i) => ({
    id: ids[i],
    trigger: request.trigger ?? 'manual',
    dedupe_key: request.dedupeKey ?? null,
    params,
    requested_by: request.requestedBy ?? null,
    trigger_body: request.triggerBody === undefined ? null : request.triggerBody,
  }));
  const tasks = active.pipeline.tasks.map((task) => ({ task_id: task.id, task_type: task.type, needs: task.needs, max_attempts: effectiveTaskSettings(active.pipeline, task.id).retries + 1 }));
  const audits = fresh.flatMap(({ request }, i) =>
    request.audit === undefined
      ? []
      : [auditEntrySchema.parse({ actor: request.audit.actor, via: request.audit.via, action: 'run.trigger', target: active.pipeline.id, outcome: 'ok', detail: { ...request.audit.detail, run: ids[i] } })],
  );
  const inserted = await client.query<{ id: string }>(
    `with new_run as (
       insert into dfm.run (id, pipeline_id, version_id, trigger, dedupe_key, logical_time, interval_start, interval_end, params, requested_by, trigger_body)
       select r.id, $1, $2, r.trigger, r.dedupe_key, $3, $4, $5, coalesce(r.params, '{}'::jsonb), r.requested_by, r.trigger_body
         from jsonb_to_recordset($6::jsonb) as r(id bigint, trigger text, dedupe_key text, params jsonb, requested_by text, trigger_body jsonb)
       returning id
     ), new_task as (
       insert into dfm.task_run (run_id, task_id, task_type, needs, max_attempts)
       select n.id, t.task_id, t.task_type, array(select jsonb_array_elements_text(t.needs)), t.max_attempts
         from new_run n cross join jsonb_to_recordset($7::jsonb) as t(task_id text, task_type text, needs jsonb, max_attempts int)
     ), new_audit as (
       insert into dfm.audit (actor, via, action, target, outcome, detail)
       select a.actor, a.via, a.action, a.target, a.outcome, a.detail from jsonb_to_recordset($8::jsonb) as a(actor text, via text, action text, target text, outcome text, detail jsonb)
     )
     select id from new_run`,
    [active.pipeline.id, active.versionId, now, interval.intervalStart, interval.intervalEnd, JSON.stringify(runs), JSON.stringify(tasks), JSON.stringify(audits)],
  );
  if (inserted.rowCount !== fresh.length) throw new DfmError('RUN_INSERT_INCOMPLETE', `Expected ${fresh.length} new runs of ${active.pipeline.id}, inserted ${inserted.rowCount}.`, { retryable: true });
}

/**
 * What a group needs to know, in one round trip: the active definition, the runs of its dedupe
 * keys, the queued runs (counted up to `ceiling`, 0 for none) and an id from the run sequence for
 * each request (ids a refused request leaves unused are gaps, as a rolled-back insert's are).
 */
async function readGroup(client: pg.PoolClient, pipelineId: string, keys: readonly string[], ceiling: number, count: number): Promise<{ active: ActivePipeline; existing: Map<string, number>; queued: number; ids: number[] }> {
  const { rows } = await client.query<{ definition: Pipeline; version_id: string; paused: boolean; source_ref: string; file: string; existing: Record<string, string> | null; queued: number; ids: string[] }>(
    `select v.definition, v.id as version_id, p.paused, v.source_ref, v.file,
            (select jsonb_object_agg(r.dedupe_key, r.id) from dfm.run r where r.pipeline_id = $1 and r.dedupe_key = any($2::text[])) as existing,
            (select count(*)::int from (select 1 from dfm.run r where r.pipeline_id = $1 and r.state = 'queued' limit $3) q) as queued,
            (select array_agg(nextval(pg_get_serial_sequence('dfm.run', 'id'))) from generate_series(1, $4)) as ids
       from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id where p.id = $1`,
    [pipelineId, keys, ceiling, count],
  );
  const row = rows[0];
  if (!row) {
    await loadActivePipeline(client, pipelineId); // throws PIPELINE_UNKNOWN, naming the known ones
    throw new DfmError('PIPELINE_UNKNOWN', `No pipeline "${pipelineId}".`);
  }
  return {
    active: { pipeline: row.definition, versionId: Number(row.version_id), paused: row.paused, sourceRef: row.source_ref, file: row.file },
    existing: new Map(Object.entries(row.existing ?? {}).map(([key, id]) => [key, Number(id)])),
    queued: row.queued,
    ids: row.ids.map(Number),
  };
}
