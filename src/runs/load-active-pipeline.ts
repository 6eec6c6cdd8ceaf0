import type { Queryable } from '../db/with-transaction.js';
import { DfmError } from '../lib/errors.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';

export interface ActivePipeline {
  readonly pipeline: Pipeline;
  readonly versionId: number;
  readonly paused: boolean;
  readonly sourceRef: string;
  readonly file: string;
}

/** The active definition of a pipeline, or a DfmError that lists the known ids. */
export async function loadActivePipeline(client: Queryable, pipelineId: string): Promise<ActivePipeline> {
  const { rows } = await client.query<{ definition: Pipeline; version_id: string; paused: boolean; source_ref: string; file: string }>(
    `select v.definition, v.id as version_id, p.paused, v.source_ref, v.file
       from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id where p.id = $1`,
    [pipelineId],
  );
  const row = rows[0];
  if (!row) {
    const known = await client.query<{ id: string }>('select id from dfm.pipeline where not paused order by id');
    throw new DfmError(
      'PIPELINE_UNKNOWN',
      `No pipeline "${pipelineId}". ${known.rows.length > 0 ? `Active pipelines: ${known.rows.map((r) => r.id).join(', ')}.` : 'No pipeline is active yet: start `dfm serve`, which loads DFM_PIPELINES_DIR.'}`,
    );
  }
  return { pipeline: row.definition, versionId: Number(row.version_id), paused: row.paused, sourceRef: row.source_ref, file: row.file };
}
