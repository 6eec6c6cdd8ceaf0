/**
 * Makes a set of pipeline definitions the active ones, atomically: every pipeline in the set gets
 * (or keeps) a version for its definition and source (commit SHA, or `local:<hash>` in local
 * mode) and becomes active; every pipeline not in the set is paused, its history kept. The git
 * sync of the default branch calls this with the commit's pipelines; local mode calls it with
 * DFM_PIPELINES_DIR at start.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { startQueuedRuns } from '../runs/start-queued-runs.js';

export interface PipelineSource {
  readonly file: string;
  readonly pipeline: Pipeline;
  /** Commit SHA; defaults to `local:<sha256 of the definition>`. */
  readonly sourceRef?: string;
}

export interface ActivationResult {
  readonly activated: { pipelineId: string; versionId: number; changed: boolean }[];
  readonly paused: string[];
}

export function hashDefinition(pipeline: Pipeline): string {
  return createHash('sha256').update(JSON.stringify(pipeline)).digest('hex');
}

export async function activatePipelines(pool: pg.Pool, sources: readonly PipelineSource[], now: Date = new Date()): Promise<ActivationResult> {
  return withTransaction(pool, async (client) => {
    // One sync at a time: two pushes processed together must not interleave their activations.
    await client.query("select pg_advisory_xact_lock(hashtext('dfm.activate_pipelines'))");
    const activated: ActivationResult['activated'] = [];
    for (const { file, pipeline, sourceRef } of sources) {
      const hash = hashDefinition(pipeline);
      const ref = sourceRef ?? `local:${hash.slice(0, 12)}`;
      await client.query(
        `insert into dfm.pipeline (id, max_active_runs, scheduled_until) values ($1, $2, $3)
         on conflict (id) do nothing`,
        [pipeline.id, pipeline.maxActiveRuns, now],
      );
      const version = await client.query<{ id: string }>(
        `with inserted as (
           insert into dfm.pipeline_version (pipeline_id, source_ref, file, definition_hash, definition)
           values ($1, $2, $3, $4, $5::jsonb)
           on conflict (pipeline_id, definition_hash, source_ref) do nothing
           returning id)
         select id from inserted
         union all
         select id from dfm.pipeline_version where pipeline_id = $1 and definition_hash = $4 and source_ref = $2
         limit 1`,
        [pipeline.id, ref, file, hash, JSON.stringify(pipeline)],
      );
      const versionId = Number(version.rows[0]!.id);
      const before = await client.query<{ active_version_id: string | null; paused: boolean; user_paused: boolean; had_schedule: boolean }>(
        `select p.active_version_id, p.paused, p.paused and p.paused_by is distinct from 'sync' as user_paused, coalesce(v.definition->>'schedule', '') <> '' as had_schedule
           from dfm.pipeline p left join dfm.pipeline_version v on v.id = p.active_version_id
          where p.id = $1 for no key update of p`,
        [pipeline.id],
      );
      const old = before.rows[0]!;
      // A pipeline that was paused or unscheduled starts its schedule now: no catch-up of the time it was off.
      const restartSchedule = old.paused || !old.had_schedule;
      // The file being back lifts the pause its removal caused; a user's pause stays until unpaused.
      await client.query(
        `update dfm.pipeline
            set active_version_id = $2, max_active_runs = $3, updated_at = now(),
                paused = $6, paused_by = case when $6 then paused_by end, paused_at = case when $6 then paused_at end,
                scheduled_until = case when $5 then greatest(scheduled_until, $4) else scheduled_until end
          where id = $1`,
        [pipeline.id, versionId, pipeline.maxActiveRuns, now, restartSchedule, old.user_paused],
      );
      const changed = old.active_version_id === null || Number(old.active_version_id) !== versionId;
      activated.push({ pipelineId: pipeline.id, versionId, changed });
      await startQueuedRuns(client, pipeline.id);
    }
    const paused = await client.query<{ id: string }>(
      `update dfm.pipeline set paused = true, paused_by = 'sync', paused_at = now(), updated_at = now()
        where not paused and id <> all($1::text[]) returning id`,
      [sources.map((s) => s.pipeline.id)],
    );
    return { activated, paused: paused.rows.map((r) => r.id) };
  });
}
