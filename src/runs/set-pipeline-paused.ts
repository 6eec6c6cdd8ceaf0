/**
 * Pauses or unpauses a pipeline for a user. A paused pipeline creates no scheduled or triggered
 * runs and starts none of its queued ones; running runs go on. Unpausing restarts its schedule
 * from now (no catch-up of the time it was off) and starts its queued runs. A pipeline paused
 * because its file left the synced branch cannot be unpaused here: the file must come back.
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import { loadActivePipeline } from './load-active-pipeline.js';
import { startQueuedRuns } from './start-queued-runs.js';

export interface PauseChange {
  readonly pipelineId: string;
  readonly paused: boolean;
  /** False when it already was in that state (nothing changed). */
  readonly changed: boolean;
}

export async function setPipelinePaused(pool: pg.Pool, pipelineId: string, paused: boolean, actor: string, now = new Date()): Promise<PauseChange> {
  return withTransaction(pool, async (client) => {
    await loadActivePipeline(client, pipelineId); // unknown → PIPELINE_UNKNOWN with "did you mean"
    const { rows } = await client.query<{ paused: boolean; paused_by: string | null }>('select paused, paused_by from dfm.pipeline where id = $1 for no key update', [pipelineId]);
    const row = rows[0]!;
    if (row.paused === paused) return { pipelineId, paused, changed: false };
    if (!paused && row.paused_by === 'sync') {
      throw new DfmError('PIPELINE_REMOVED', `Pipeline "${pipelineId}" is paused because its file is no longer on the synced branch; restore the file to unpause it.`);
    }
    await client.query(
      `update dfm.pipeline
          set paused = $2, paused_by = case when $2 then $3 end, paused_at = case when $2 then $4::timestamptz end, updated_at = now(),
              scheduled_until = case when $2 then scheduled_until else greatest(scheduled_until, $4::timestamptz) end
        where id = $1`,
      [pipelineId, paused, actor, now],
    );
    if (!paused) await startQueuedRuns(client, pipelineId);
    return { pipelineId, paused, changed: true };
  });
}
