/**
 * The job handlers of the sync and the GitHub App, as the worker role runs them: `sync` (one
 * source), `github-event` (a recorded delivery) and `github-refresh` (every installation's
 * repositories, at start).
 */
import { z } from 'zod';
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { gitHubAppFor } from '../github/create-github-app.js';
import { handleGitHubEvent } from '../github/handle-github-event.js';
import { GITHUB_EVENT_JOB } from '../github/record-delivery.js';
import { refreshInstallation } from '../github/refresh-installation.js';
import type { JobHandlers } from '../jobs/start-job-runner.js';
import { SYNC_JOB } from '../sync/request-sync.js';
import { runSync, type SyncDependencies } from '../sync/run-sync.js';

export const GITHUB_REFRESH_JOB = 'github-refresh';

const syncRequestSchema = z.object({ sourceId: z.string(), trigger: z.string(), sha: z.string().optional(), confirm: z.string().optional() });

export function syncDependencies(context: { pool: pg.Pool; config: Config; logger: Logger; metrics?: Metrics }): SyncDependencies {
  const app = gitHubAppFor(context.config, context.logger);
  return {
    pool: context.pool,
    config: context.config,
    logger: context.logger,
    ...(context.metrics ? { metrics: context.metrics } : {}),
    ...(app ? { githubAuthorization: (id: number) => app.installationAuthorization(id) } : {}),
  };
}

export function syncJobHandlers(context: { pool: pg.Pool; config: Config; logger: Logger; metrics?: Metrics }): JobHandlers {
  const deps = syncDependencies(context);
  const app = gitHubAppFor(context.config, context.logger);
  return {
    [SYNC_JOB]: async (job) => runSync(deps, syncRequestSchema.parse(job.payload)),
    [GITHUB_EVENT_JOB]: async (job) => handleGitHubEvent({ pool: context.pool, app, config: context.config, logger: context.logger }, job),
    [GITHUB_REFRESH_JOB]: async () => {
      if (app === undefined || context.config.gitUrl !== undefined) return { installations: [] };
      const installations = await app.installations();
      const refreshed = [];
      for (const id of installations) refreshed.push({ installationId: id, ...(await refreshInstallation(context.pool, app, context.config, id)) });
      return { installations: refreshed };
    },
  };
}
