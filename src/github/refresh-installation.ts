/**
 * Keeps the GitHub sources equal to what the App's installations can reach: each repository is a
 * source `github:<owner>/<name>` (its default branch, DFM_GIT_PATH), enabled while the installation
 * reaches it; a repository removed from an installation (or an installation deleted or suspended)
 * is disabled, its pipelines left as they are. A newly reached repository gets a sync.
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { withTransaction } from '../db/with-transaction.js';
import { requestSync } from '../sync/request-sync.js';
import { githubSourceId, upsertSyncSources } from '../sync/sync-source.js';
import type { GitHubApp } from './create-github-app.js';

export async function refreshInstallation(pool: pg.Pool, app: GitHubApp, config: Pick<Config, 'gitPath' | 'gitBranch'>, installationId: number): Promise<{ enabled: string[]; disabled: string[] }> {
  const repositories = await app.installationRepositories(installationId);
  const sources = repositories.map((r) => ({
    id: githubSourceId(r.fullName),
    kind: 'github' as const,
    url: r.cloneUrl,
    branch: config.gitBranch ?? r.defaultBranch,
    path: config.gitPath,
    installationId,
  }));
  return withTransaction(pool, async (client) => {
    const before = await client.query<{ id: string }>("select id from dfm.sync_source where kind = 'github' and enabled and installation_id = $1", [installationId]);
    await upsertSyncSources(client, sources);
    const ids = sources.map((s) => s.id);
    const disabled = await client.query<{ id: string }>(
      `update dfm.sync_source set enabled = false, updated_at = now() where kind = 'github' and installation_id = $1 and enabled and id <> all($2::text[]) returning id`,
      [installationId, ids],
    );
    const known = new Set(before.rows.map((r) => r.id));
    for (const id of ids) if (!known.has(id)) await requestSync(client, { sourceId: id, trigger: 'installation' });
    return { enabled: ids, disabled: disabled.rows.map((r) => r.id) };
  });
}

export async function disableInstallation(pool: pg.Pool, installationId: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    "update dfm.sync_source set enabled = false, updated_at = now() where kind = 'github' and installation_id = $1 and enabled returning id",
    [installationId],
  );
  return rows.map((r) => r.id);
}
