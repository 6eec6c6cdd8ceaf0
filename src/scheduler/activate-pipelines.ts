/**
 * Makes a set of pipeline definitions a source's active ones, atomically: every pipeline in the
 * set gets (or keeps) a version for its definition and revision (commit SHA, or `local:<hash>` in
 * local mode) and becomes active; every pipeline of the same source not in the set is paused, its
 * history kept. The sync (sync/run-sync.ts) calls this with a commit's pipelines and records the
 * sync in the same transaction (`within`).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { startQueuedRuns } from '../runs/start-queued-runs.js';
import type { CommitInfo } from '../git/read-commit.js';

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

export interface ActivationOptions {
  /** The sync source the pipelines belong to. Default `local`. */
  readonly sourceId?: string;
  /** The commit every version comes from (git sources). */
  readonly commit?: CommitInfo;
  readonly now?: Date;
  /** Runs in the activation's transaction after it, before the commit. */
  readonly within?: (client: pg.PoolClient, result: ActivationResult) => Promise<void>;
}

export function hashDefinition(pipeline: Pipeline): string {
  return createHash('sha256').update(JSON.stringify(pipeline)).digest('hex');
}

export async function activatePipelines(pool: pg.Pool, sources: readonly PipelineSource[], options: ActivationOptions = {}): Promise<ActivationResult> {
  const now = options.now ?? new Date();
  const sourceId = options.sourceId ?? 'local';
  const commit = options.commit;
  return withTransaction(pool, async (client) => {
    // One sync at a time: two pushes processed together must not interleave their activations.
    await client.query("select pg_advisory_xact_lock(hashtext('dfm.activate_pipelines'))");
    const activated: ActivationResult['activated'] = [];
    for (const { file, pipeline, sourceRef } of sources) {
      const hash = hashDefinition(pipeline);
      const ref = sourceRef ?? commit?.sha ?? `local:${hash.slice(0, 12)}`;
      // A pipeline moves to this source when its file appears here (the sync refused the file
      // before this point if another configured source owns the id).
      await client.query(
        `insert into dfm.pipeline (id, max_active_runs, scheduled_until, source_id) values ($1, $2, $3, $4)
         on conflict (id) do update set source_id = excluded.source_id where dfm.pipeline.source_id <> excluded.source_id`,
        [pipeline.id, pipeline.maxActiveRuns, now, sourceId],
      );
      const before = await client.query<{ active_version_id: string | null; active_hash: string | null; active_file: string | null; active_ref: string | null; paused: boolean; user_paused: boolean; had_schedule: boolean }>(
        `select p.active_version_id, v.definition_hash as active_hash, v.file as active_file, v.source_ref as active_ref, p.paused,
                p.paused and p.paused_by is distinct from 'sync' as user_paused, coalesce(v.definition->>'schedule', '') <> '' as had_schedule
           from dfm.pipeline p left join dfm.pipeline_version v on v.id = p.active_version_id
          where p.id = $1 for no key update of p`,
        [pipeline.id],
      );
      const old = before.rows[0]!;
      // An unchanged definition in an unmoved file keeps its version: the version names the commit
      // that last changed the pipeline (what `git log -1 -- <file>` would say), and a push that
      // touches one of 100 files makes one new version, not 100.
      const versionId =
        old.active_version_id !== null && old.active_hash === hash && old.active_file === file && (commit === undefined) === (old.active_ref ?? '').startsWith('local:')
          ? Number(old.active_version_id)
          : await insertVersion(client, { pipelineId: pipeline.id, ref, file, hash, pipeline, commit });
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
        where not paused and source_id = $2 and id <> all($1::text[]) returning id`,
      [sources.map((s) => s.pipeline.id), sourceId],
    );
    const result = { activated, paused: paused.rows.map((r) => r.id) };
    await options.within?.(client, result);
    return result;
  });
}

async function insertVersion(
  client: pg.PoolClient,
  v: { pipelineId: string; ref: string; file: string; hash: string; pipeline: Pipeline; commit: CommitInfo | undefined },
): Promise<number> {
  const version = await client.query<{ id: string }>(
    `with inserted as (
       insert into dfm.pipeline_version (pipeline_id, source_ref, file, definition_hash, definition, commit_author, commit_message, committed_at)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
       on conflict (pipeline_id, definition_hash, source_ref) do nothing
       returning id)
     select id from inserted
     union all
     select id from dfm.pipeline_version where pipeline_id = $1 and definition_hash = $4 and source_ref = $2
     limit 1`,
    [v.pipelineId, v.ref, v.file, v.hash, JSON.stringify(v.pipeline), v.commit?.author ?? null, v.commit?.message ?? null, v.commit?.committedAt ?? null],
  );
  return Number(version.rows[0]!.id);
}
