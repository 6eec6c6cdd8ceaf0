/**
 * Backfill: one run per fire time in [from, to], with the same dedupe key as the scheduled run of
 * that fire, so a backfill never duplicates a run the schedule already made (or another backfill).
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { planBackfill } from '../pipeline/plan-backfill.js';
import type { DueFire } from '../pipeline/plan-due-fires.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';
import { createRun } from './create-run.js';
import { loadActivePipeline } from './load-active-pipeline.js';

export async function backfillRuns(
  pool: pg.Pool,
  request: { pipelineId: string; from: Date; to: Date; params?: Record<string, unknown>; requestedBy?: string },
): Promise<{ fires: DueFire[]; created: { runId: number; logicalTime: Date }[]; existing: number }> {
  return withTransaction(pool, async (client) => {
    const active = await loadActivePipeline(client, request.pipelineId);
    const fires = planBackfill(active.pipeline, request.from, request.to);
    const params = resolveRunParams(active.pipeline, request.params ?? {}, { fromText: true });
    const created: { runId: number; logicalTime: Date }[] = [];
    for (const fire of fires) {
      const runId = await createRun(client, {
        pipeline: active.pipeline,
        versionId: active.versionId,
        trigger: 'backfill',
        ...fire,
        params,
        dedupeKey: fire.logicalTime.toISOString(),
        ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
      });
      if (runId !== undefined) created.push({ runId, logicalTime: fire.logicalTime });
    }
    return { fires, created, existing: fires.length - created.length };
  });
}
