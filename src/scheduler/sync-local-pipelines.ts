/**
 * Local mode: DFM_PIPELINES_DIR becomes the active set at start. Invalid files are reported with
 * their positions and left out; the valid ones activate (the git sync of pushes replaces this when
 * the GitHub App is configured).
 */
import type pg from 'pg';
import { hasErrors } from '../pipeline/diagnostic.js';
import { loadPipelinesDir } from '../pipeline/load-pipelines-dir.js';
import { validatePipelineFiles } from '../pipeline/validate-pipeline-files.js';
import type { Logger } from '../lib/logger.js';
import { activatePipelines, type ActivationResult } from './activate-pipelines.js';

export async function syncLocalPipelines(pool: pg.Pool, dir: string, logger: Logger): Promise<ActivationResult> {
  const files = await loadPipelinesDir(dir);
  const { pipelines, diagnostics } = validatePipelineFiles(files);
  for (const diagnostic of diagnostics) {
    logger[diagnostic.severity === 'error' ? 'error' : 'warn']({ file: diagnostic.file, code: diagnostic.code }, `${diagnostic.file}:${diagnostic.line}:${diagnostic.column} ${diagnostic.code} ${diagnostic.message}`);
  }
  if (hasErrors(diagnostics)) logger.error({ dir }, 'some pipeline files have errors and were not loaded; run `dfm validate` for details');
  const result = await activatePipelines(pool, pipelines);
  logger.info({ dir, active: result.activated.map((a) => a.pipelineId), paused: result.paused }, `loaded ${result.activated.length} pipeline(s) from ${dir}`);
  return result;
}
