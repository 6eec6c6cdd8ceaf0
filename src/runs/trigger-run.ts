/**
 * Manual runs (CLI `dfm run`, Slack `/dfm run`, the dashboard). Params are checked against the
 * pipeline's types before anything is written. A manual run's interval is the last complete
 * schedule interval before now (what a scheduled run at the last fire covered), or [now, now) for
 * unscheduled pipelines.
 */
import type pg from 'pg';
import { withTransaction } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { manualInterval } from '../pipeline/manual-interval.js';
import { resolveRunParams } from '../pipeline/resolve-run-params.js';
import { createRun } from './create-run.js';
import { loadActivePipeline } from './load-active-pipeline.js';

export async function triggerRun(
  pool: pg.Pool,
  request: { pipelineId: string; params?: Record<string, unknown>; paramsFromText?: boolean; requestedBy?: string; now?: Date },
): Promise<{ runId: number; pipeline: Pipeline }> {
  const now = request.now ?? new Date();
  return withTransaction(pool, async (client) => {
    const active = await loadActivePipeline(client, request.pipelineId);
    if (active.paused) {
      throw new DfmError('PIPELINE_PAUSED', `Pipeline "${request.pipelineId}" is paused (removed from the default branch or paused by a user); unpause it before running it.`);
    }
    const params = resolveRunParams(active.pipeline, request.params ?? {}, { fromText: request.paramsFromText ?? false });
    const interval = manualInterval(active.pipeline, now);
    const runId = await createRun(client, {
      pipeline: active.pipeline,
      versionId: active.versionId,
      trigger: 'manual',
      logicalTime: now,
      ...interval,
      params,
      ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    });
    return { runId: runId!, pipeline: active.pipeline };
  });
}
