import type { Queryable } from '../db/with-transaction.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';

/**
 * Pipeline versions never change once written, so a worker keeps the ones it has seen: the claim
 * returns the version id and the definition is fetched once per process, not once per task.
 */
export function createVersionCache(limit = 500) {
  const cache = new Map<number, Pipeline>();
  return async function loadVersion(client: Queryable, versionId: number): Promise<Pipeline> {
    const hit = cache.get(versionId);
    if (hit) return hit;
    const { rows } = await client.query<{ definition: Pipeline }>('select definition from dfm.pipeline_version where id = $1', [versionId]);
    const definition = rows[0]?.definition;
    if (!definition) throw new Error(`Pipeline version ${versionId} does not exist`);
    if (cache.size >= limit) cache.delete(cache.keys().next().value!);
    cache.set(versionId, definition);
    return definition;
  };
}
