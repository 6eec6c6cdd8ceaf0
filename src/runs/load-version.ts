import type { Queryable } from '../db/with-transaction.js';
import { taskGraph } from '../pipeline/dag.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';

export interface LoadedVersion {
  readonly pipeline: Pipeline;
  /** task → the tasks that need it: a leaf's completion skips promotion entirely. */
  readonly downstream: ReadonlyMap<string, readonly string[]>;
}

/**
 * Pipeline versions never change once written, so a worker keeps the ones it has seen: the claim
 * returns the version id and the definition is fetched once per process, not once per task.
 */
export function createVersionCache(limit = 500) {
  const cache = new Map<number, LoadedVersion>();
  return async function loadVersion(client: Queryable, versionId: number): Promise<LoadedVersion> {
    const hit = cache.get(versionId);
    if (hit) return hit;
    const { rows } = await client.query<{ definition: Pipeline }>('select definition from dfm.pipeline_version where id = $1', [versionId]);
    const pipeline = rows[0]?.definition;
    if (!pipeline) throw new Error(`Pipeline version ${versionId} does not exist`);
    if (cache.size >= limit) cache.delete(cache.keys().next().value!);
    const loaded = { pipeline, downstream: taskGraph(pipeline).downstream };
    cache.set(versionId, loaded);
    return loaded;
  };
}
