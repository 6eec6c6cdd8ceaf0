/**
 * Backfill: one run per fire time in [from, to], with the same dedupe key as the scheduled run of
 * that fire, so a backfill never duplicates a run the schedule already made (or another backfill).
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import { fireTimesBetween } from '../pipeline/schedule.js';
import { createRun } from '../scheduler/create-run.js';
import { toDueFire, type DueFire } from '../scheduler/plan-due-fires.js';
import { resolveRunParams } from '../scheduler/resolve-run-params.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { loadActivePipeline } from './load-active-pipeline.js';

export const MAX_BACKFILL_RUNS = 10_000;

export function planBackfill(pipeline: Pipeline, from: Date, to: Date): DueFire[] {
  if (!pipeline.schedule) throw new DfmError('BACKFILL_UNSCHEDULED', `Pipeline "${pipeline.id}" has no schedule, so it has no intervals to backfill; use dfm run instead.`);
  if (from > to) throw new DfmError('BACKFILL_RANGE', `--from (${from.toISOString()}) must not be after --to (${to.toISOString()}).`);
  try {
    return fireTimesBetween(pipeline.schedule, pipeline.timezone, new Date(from.getTime() - 1), to, MAX_BACKFILL_RUNS).map((t) => toDueFire(pipeline.schedule!, pipeline.timezone, t));
  } catch (error) {
    throw new DfmError('BACKFILL_TOO_LARGE', `More than ${MAX_BACKFILL_RUNS} intervals between ${from.toISOString()} and ${to.toISOString()}; backfill a shorter range at a time.`, { cause: error });
  }
}

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
