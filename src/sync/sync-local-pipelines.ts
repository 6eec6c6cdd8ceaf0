/**
 * Local mode: DFM_PIPELINES_DIR is the `local` source, synced like a Git source with the folder's
 * content hash as its revision: at start, whenever its files change (watch-local-pipelines.ts) and
 * on `dfm sync`. Errors are logged with their positions and stored; an invalid folder changes
 * nothing, as an invalid commit does.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { loadConfig } from '../config/load-config.js';
import { runSync, type SyncResult, type SyncSettings } from './run-sync.js';
import { LOCAL_SOURCE_ID, upsertSyncSources } from './sync-source.js';

/** The documented defaults (loadConfig of an empty environment), for callers without a Config. */
const DEFAULT_SETTINGS: SyncSettings = loadConfig({});

export async function syncLocalPipelines(
  pool: pg.Pool,
  dir: string,
  logger: Logger,
  options: { settings?: SyncSettings; metrics?: Metrics; trigger?: string; confirm?: string } = {},
): Promise<SyncResult> {
  await upsertSyncSources(pool, [{ id: LOCAL_SOURCE_ID, kind: 'local', url: null, branch: null, path: dir, installationId: null }]);
  const result = await runSync(
    { pool, config: options.settings ?? DEFAULT_SETTINGS, logger, ...(options.metrics ? { metrics: options.metrics } : {}) },
    { sourceId: LOCAL_SOURCE_ID, trigger: options.trigger ?? 'start', ...(options.confirm ? { confirm: options.confirm } : {}) },
  );
  for (const error of result.errors) {
    const at = error.file === undefined ? '' : `${error.file}:${error.line ?? 1}:${error.column ?? 1} `;
    logger[error.severity === 'warning' ? 'warn' : 'error']({ file: error.file, code: error.code }, `${at}${error.code} ${error.message}`);
  }
  if (result.outcome === 'invalid') logger.error({ dir }, `pipeline files in ${dir} have errors; the active pipelines stay as they were (run \`dfm validate\` for details)`);
  if (result.outcome === 'held') logger.warn({ dir, held: result.held }, result.summary);
  return result;
}
