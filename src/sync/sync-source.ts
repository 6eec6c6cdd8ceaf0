/**
 * A sync source as stored (dfm.sync_source) and as configured. Configuration decides which sources
 * exist: DFM_GIT_URL names one; without it the GitHub App's installations name theirs (kept
 * current by installation events); without either, the local folder is the one source.
 */
import { z } from 'zod';
import type { Config } from '../config/load-config.js';
import type { Queryable } from '../db/with-transaction.js';
import { syncSourceKinds } from '../db/schema.js';

export const LOCAL_SOURCE_ID = 'local';

export const commitInfoSchema = z.object({ sha: z.string(), author: z.string(), message: z.string(), committedAt: z.string() });

export const heldPruneSchema = z.object({
  sha: z.string(),
  commit: commitInfoSchema.nullable(),
  /** The pipelines the commit would pause. */
  pause: z.array(z.string()),
  /** Active pipelines of the source when it was held. */
  activeCount: z.number(),
  at: z.string(),
});
export type HeldPrune = z.infer<typeof heldPruneSchema>;

export const syncSourceSchema = z.object({
  id: z.string(),
  kind: z.enum(syncSourceKinds),
  url: z.string().nullable(),
  branch: z.string().nullable(),
  path: z.string(),
  installationId: z.coerce.number().nullable(),
  enabled: z.boolean(),
  activeSha: z.string().nullable(),
  activeCommit: commitInfoSchema.nullable(),
  activatedAt: z.date().nullable(),
  heldPrune: heldPruneSchema.nullable(),
  lastCheckedAt: z.date().nullable(),
});
export type SyncSource = z.infer<typeof syncSourceSchema>;

const COLUMNS = `id, kind, url, branch, path, installation_id as "installationId", enabled, active_sha as "activeSha",
  active_commit as "activeCommit", activated_at as "activatedAt", held_prune as "heldPrune", last_checked_at as "lastCheckedAt"`;

export async function loadSyncSource(db: Queryable, id: string): Promise<SyncSource | undefined> {
  const { rows } = await db.query({ name: 'dfm.load-sync-source', text: `select ${COLUMNS} from dfm.sync_source where id = $1`, values: [id] });
  return rows[0] === undefined ? undefined : syncSourceSchema.parse(rows[0]);
}

export async function listSyncSources(db: Queryable, options: { enabledOnly?: boolean } = {}): Promise<SyncSource[]> {
  // Named (one name per text): the query of every GitHub delivery's job, planned once per connection.
  const { rows } = await db.query(
    options.enabledOnly
      ? { name: 'dfm.list-enabled-sync-sources', text: `select ${COLUMNS} from dfm.sync_source where enabled order by id` }
      : { name: 'dfm.list-sync-sources', text: `select ${COLUMNS} from dfm.sync_source order by id` },
  );
  return rows.map((row) => syncSourceSchema.parse(row));
}

export interface SourceDefinition {
  readonly id: string;
  readonly kind: SyncSource['kind'];
  readonly url: string | null;
  readonly branch: string | null;
  readonly path: string;
  readonly installationId: number | null;
}

/** The sources configuration names by itself (GitHub's come from its installations). */
export function configuredSources(config: Config): SourceDefinition[] {
  if (config.gitUrl !== undefined) {
    return [{ id: `git:${config.gitUrl.redacted}`, kind: 'git', url: config.gitUrl.redacted, branch: config.gitBranch ?? null, path: config.gitPath, installationId: null }];
  }
  if (config.github !== undefined) return [];
  return [{ id: LOCAL_SOURCE_ID, kind: 'local', url: null, branch: null, path: config.pipelinesDir, installationId: null }];
}

export function githubSourceId(fullName: string): string {
  return `github:${fullName.toLowerCase()}`;
}

/** Creates or updates the sources, enabled. */
export async function upsertSyncSources(db: Queryable, sources: readonly SourceDefinition[]): Promise<void> {
  for (const s of sources) {
    await db.query(
      `insert into dfm.sync_source (id, kind, url, branch, path, installation_id, enabled) values ($1, $2, $3, $4, $5, $6, true)
       on conflict (id) do update set kind = excluded.kind, url = excluded.url, branch = excluded.branch, path = excluded.path,
         installation_id = excluded.installation_id, enabled = true, updated_at = now()`,
      [s.id, s.kind, s.url, s.branch, s.path, s.installationId],
    );
  }
}

/**
 * At `dfm serve` start: configuration's sources are enabled; git and local sources it no longer
 * names are disabled (GitHub sources follow the installations, not the environment, unless
 * DFM_GIT_URL or local mode replaces them).
 */
export async function registerConfiguredSources(db: Queryable, config: Config): Promise<SourceDefinition[]> {
  const sources = configuredSources(config);
  await upsertSyncSources(db, sources);
  const githubMode = config.gitUrl === undefined && config.github !== undefined;
  await db.query(
    `update dfm.sync_source set enabled = false, updated_at = now()
      where enabled and id <> all($1::text[]) and (kind <> 'github' or not $2)`,
    [sources.map((s) => s.id), githubMode],
  );
  return sources;
}

/** The URL git fetches a source from (local sources are read from the folder, not fetched). */
export function fetchUrlOf(source: SyncSource, config: Pick<Config, 'gitUrl'>): string {
  // DFM_GIT_URL may carry credentials the stored (redacted) URL leaves out.
  if (source.kind === 'git' && config.gitUrl !== undefined && `git:${config.gitUrl.redacted}` === source.id) return config.gitUrl.url;
  return source.url!;
}
