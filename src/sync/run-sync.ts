/**
 * One sync of one source: under the source's lock (a session advisory lock, so two processes or
 * two jobs never fetch into one mirror or decide on one source at once), fetch the branch head,
 * read the pipelines folder at that exact commit from git objects, validate, then either
 *   applied — every new version active in one transaction with the sync's record and the source's
 *             new active commit (a kill -9 leaves the old revision or the new one, never a mix);
 *   invalid — nothing changes; the errors (file, line, column) are stored;
 *   held    — it would pause more than DFM_SYNC_MAX_PRUNE of the source's active pipelines (or all
 *             of them): nothing changes until `dfm sync --confirm <sha>`;
 *   stale   — the head is an ancestor of the active commit (a ref rolled back under a racing
 *             fetch): never go back;
 *   failed  — git or the network failed; the job retries.
 * Finding the active commit again moves only `last_checked_at` (polling every minute writes no
 * history). Local mode is the same with the folder's content hash as the revision, without the
 * prune guard.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { withSessionLock } from '../db/with-session-lock.js';
import type { Queryable } from '../db/with-transaction.js';
import { fetchBranch } from '../git/fetch-branch.js';
import { hasCommit, isAncestor, readCommit, type CommitInfo } from '../git/read-commit.js';
import { readPipelineTree } from '../git/read-pipeline-tree.js';
import type { GitAccess } from '../git/run-git.js';
import { checkBranchName, checkGitUrl, checkRepositoryPath } from '../git/validate-git-input.js';
import { DfmError, isDfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { Diagnostic } from '../pipeline/diagnostic.js';
import { loadPipelinesDir } from '../pipeline/load-pipelines-dir.js';
import { idDiagnostic, validatePipelineFiles, type PipelineFile, type ValidatedPipelines } from '../pipeline/validate-pipeline-files.js';
import { activatePipelines } from '../scheduler/activate-pipelines.js';
import type { SyncOutcome } from '../db/schema.js';
import { fetchUrlOf, loadSyncSource, type HeldPrune, type SyncSource } from './sync-source.js';

export interface SyncRequest {
  readonly sourceId: string;
  /** What asked: github-push, webhook, poll, cli, start, watch, confirm. */
  readonly trigger: string;
  /** The commit the trigger announced (a push's `after`): a sync that already saw it is skipped. */
  readonly sha?: string;
  /** Apply the held prune of this revision. */
  readonly confirm?: string;
}

/** A stored sync error: a diagnostic with its position, or a message of the whole sync. */
export type SyncError = Pick<Diagnostic, 'code' | 'message'> & Partial<Diagnostic>;

export interface SyncResult {
  readonly sourceId: string;
  readonly outcome: SyncOutcome | 'unchanged' | 'skipped';
  readonly sha: string | null;
  readonly syncId?: number;
  readonly errors: readonly SyncError[];
  readonly changed: readonly string[];
  readonly paused: readonly string[];
  readonly held?: HeldPrune;
  readonly durationMs: number;
  /** A human line: what happened. */
  readonly summary: string;
}

/** The settings a sync reads (a subset of Config, so local mode and tests can pass defaults). */
export type SyncSettings = Pick<Config, 'gitTimeoutMs' | 'gitProtocols' | 'syncMaxPrune' | 'gitCacheDir' | 'dataDir' | 'gitUrl'> & Partial<Pick<Config, 'webhookSecrets'>>;

export interface SyncDependencies {
  readonly pool: pg.Pool;
  readonly config: SyncSettings;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** `Authorization` for a GitHub installation's https fetch (a fresh installation token). */
  readonly githubAuthorization?: (installationId: number) => Promise<string>;
}

interface Revision {
  readonly sha: string;
  readonly commit: CommitInfo | undefined;
  readonly files: PipelineFile[];
}

export async function runSync(deps: SyncDependencies, request: SyncRequest): Promise<SyncResult> {
  return withSessionLock(deps.pool, `dfm.sync:${request.sourceId}`, () => syncLocked(deps, request));
}

async function syncLocked(deps: SyncDependencies, request: SyncRequest): Promise<SyncResult> {
  const { pool, config, logger } = deps;
  const startedAt = new Date();
  const elapsed = () => Date.now() - startedAt.getTime();
  const source = await loadSyncSource(pool, request.sourceId);
  if (source === undefined || !source.enabled) {
    throw new DfmError('SYNC_SOURCE_UNKNOWN', `No configured sync source "${request.sourceId}"; \`dfm sync --status\` lists them`);
  }
  const log = logger.child({ source: source.id, trigger: request.trigger });
  const done = (result: Omit<SyncResult, 'sourceId' | 'durationMs'>): SyncResult => {
    const full = { ...result, sourceId: source.id, durationMs: elapsed() };
    deps.metrics?.syncs.inc({ source: source.id, outcome: full.outcome });
    if (full.outcome !== 'skipped' && full.outcome !== 'unchanged') deps.metrics?.syncDuration.observe({ source: source.id, outcome: full.outcome }, full.durationMs / 1000);
    if (full.outcome === 'applied' || full.outcome === 'unchanged') deps.metrics?.syncLastSuccess.set({ source: source.id }, Date.now() / 1000);
    log[full.outcome === 'failed' || full.outcome === 'invalid' ? 'warn' : 'info']({ outcome: full.outcome, sha: full.sha, ms: full.durationMs }, full.summary);
    return full;
  };

  if (request.sha !== undefined && request.confirm === undefined && (await alreadySeen(pool, source, request.sha))) {
    return done({ outcome: 'skipped', sha: request.sha, errors: [], changed: [], paused: [], summary: `${short(request.sha)} was synced before; nothing to do` });
  }

  let revision: Revision;
  try {
    if (source.kind === 'local') {
      revision = await readLocalRevision(source.path);
      if (revision.sha === source.activeSha && request.confirm === undefined) {
        await pool.query('update dfm.sync_source set last_checked_at = now() where id = $1', [source.id]);
        return done({ outcome: 'unchanged', sha: revision.sha, errors: [], changed: [], paused: [], summary: `${source.path} is unchanged (${revision.sha})` });
      }
    } else {
      const access: GitAccess = {
        timeoutMs: config.gitTimeoutMs,
        protocols: config.gitProtocols,
        ...(source.kind === 'github' ? { authorization: await githubAuthorization(deps, source) } : {}),
      };
      // Checked again here, not only in the configuration: a GitHub source's URL and branch come
      // from the API, and nothing but a checked value reaches git.
      const url = checkGitUrl(fetchUrlOf(source, config), config.gitProtocols).url;
      const branch = source.branch === null ? null : checkBranchName(source.branch);
      const fetched = await fetchBranch({ cacheDir: gitCacheDir(config), sourceId: source.id, url, branch, access });
      if (fetched.head === source.activeSha && request.confirm === undefined) {
        await pool.query('update dfm.sync_source set last_checked_at = now() where id = $1', [source.id]);
        return done({ outcome: 'unchanged', sha: fetched.head, errors: [], changed: [], paused: [], summary: `${fetched.branch} is still at ${short(fetched.head)}` });
      }
      if (
        source.activeSha !== null &&
        fetched.head !== source.activeSha &&
        (await hasCommit(fetched.repo, source.activeSha, access)) &&
        (await isAncestor(fetched.repo, fetched.head, source.activeSha, access))
      ) {
        const summary = `${fetched.branch} is at ${short(fetched.head)}, older than the active ${short(source.activeSha)}; a sync never goes back`;
        return done(await record(pool, source, request, startedAt, { outcome: 'stale', sha: fetched.head, errors: [], summary }));
      }
      const commit = await readCommit(fetched.repo, fetched.head, access);
      revision = { sha: fetched.head, commit, files: await readPipelineTree(fetched.repo, fetched.head, checkRepositoryPath(source.path), access) };
    }
  } catch (error) {
    const failed = await record(pool, source, request, startedAt, { outcome: 'failed', sha: null, errors: [toSyncError(error)], summary: `sync failed: ${messageOf(error)}` });
    done(failed);
    // The job runner retries what a retry can help (a network cut, a timeout).
    throw error;
  }

  const { validated, errors } = await validateRevision(pool, source, revision.files, new Set(Object.keys(config.webhookSecrets ?? {})));
  if (errors.length > 0) {
    const summary = `${short(revision.sha)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; the active pipelines stay as they were`;
    return done(await record(pool, source, request, startedAt, { outcome: 'invalid', sha: revision.sha, errors, summary }));
  }

  const ids = validated.pipelines.map((p) => p.pipeline.id);
  const active = await pool.query<{ id: string }>('select id from dfm.pipeline where source_id = $1 and not paused', [source.id]);
  const pause = active.rows.map((r) => r.id).filter((id) => !ids.includes(id)).sort();
  const activeCount = active.rows.length;
  // The guard is for Git sources, where a push by anyone reaches production. In local mode the
  // folder is the operator's own disk and edits are deliberate (a file deleted, a folder switched):
  // they apply at once, as they did before Git sync existed.
  const tooMany = source.kind !== 'local' && pause.length > 0 && (pause.length === activeCount || pause.length > config.syncMaxPrune * activeCount);
  if (tooMany && request.confirm !== revision.sha) {
    const held: HeldPrune = { sha: revision.sha, commit: revision.commit ?? null, pause, activeCount, at: new Date().toISOString() };
    await pool.query('update dfm.sync_source set held_prune = $2::jsonb, last_checked_at = now(), updated_at = now() where id = $1', [source.id, JSON.stringify(held)]);
    const summary = `${short(revision.sha)} would pause ${pause.length} of ${activeCount} active pipelines (${pause.join(', ')}); held until \`dfm sync --confirm ${revision.sha}\``;
    return done({ ...(await record(pool, source, request, startedAt, { outcome: 'held', sha: revision.sha, errors: [], summary, paused: pause })), held });
  }

  let syncId = 0;
  const result = await activatePipelines(pool, validated.pipelines, {
    sourceId: source.id,
    ...(revision.commit === undefined ? {} : { commit: revision.commit }),
    within: async (client, activation) => {
      await client.query(
        `update dfm.sync_source set active_sha = $2, active_commit = $3::jsonb, activated_at = now(), held_prune = null, last_checked_at = now(), updated_at = now() where id = $1`,
        [source.id, revision.sha, revision.commit === undefined ? null : JSON.stringify(revision.commit)],
      );
      syncId = await insertSync(client, source.id, request.trigger, startedAt, {
        outcome: 'applied',
        sha: revision.sha,
        errors: validated.diagnostics,
        changed: activation.activated.filter((a) => a.changed).map((a) => a.pipelineId),
        paused: activation.paused,
      });
    },
  });
  const changed = result.activated.filter((a) => a.changed).map((a) => a.pipelineId);
  const summary = `${short(revision.sha)} is active: ${changed.length} pipeline${changed.length === 1 ? '' : 's'} changed${result.paused.length > 0 ? `, ${result.paused.join(', ')} paused` : ''}`;
  return done({ outcome: 'applied', sha: revision.sha, syncId, errors: validated.diagnostics, changed, paused: result.paused, summary });
}

/** Whether the source's active commit or a finished sync already is `sha` (many triggers, one sync). */
async function alreadySeen(db: Queryable, source: SyncSource, sha: string): Promise<boolean> {
  if (source.activeSha === sha || source.heldPrune?.sha === sha) return true;
  const { rows } = await db.query(`select 1 from dfm.sync where source_id = $1 and sha = $2 and outcome in ('applied', 'invalid', 'held', 'stale') limit 1`, [source.id, sha]);
  return rows.length > 0;
}

async function readLocalRevision(dir: string): Promise<Revision> {
  const files = await loadPipelinesDir(dir).catch((error: unknown) => {
    if (isDfmError(error) && error.code === 'PATH_NOT_FOUND') return [];
    throw error;
  });
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.file).update('\0').update(f.text).update('\0');
  return { sha: `local:${hash.digest('hex').slice(0, 12)}`, commit: undefined, files };
}

/** Every error of the revision: the files' own, and ids another enabled source already defines. */
async function validateRevision(db: Queryable, source: SyncSource, files: readonly PipelineFile[], webhookSecrets: ReadonlySet<string>): Promise<{ validated: ValidatedPipelines; errors: SyncError[] }> {
  const validated = validatePipelineFiles(files, { webhookSecrets: { known: webhookSecrets, severity: 'error' } });
  const errors: SyncError[] = validated.diagnostics.filter((d) => d.severity === 'error');
  const ids = validated.pipelines.map((p) => p.pipeline.id);
  if (ids.length === 0) return { validated, errors };
  const { rows } = await db.query<{ id: string; source_id: string }>(
    `select p.id, p.source_id from dfm.pipeline p join dfm.sync_source s on s.id = p.source_id
      where p.id = any($1::text[]) and p.source_id <> $2 and s.enabled`,
    [ids, source.id],
  );
  for (const row of rows) {
    const entry = validated.pipelines.find((p) => p.pipeline.id === row.id)!;
    const file = files.find((f) => f.file === entry.file)!;
    errors.push(idDiagnostic(file, `Pipeline id "${row.id}" is already defined by ${row.source_id}`, 'Pipeline ids are unique across every synced repository; rename this one or remove the other', 'id-in-other-source'));
  }
  return { validated, errors };
}

function toSyncError(error: unknown): SyncError {
  if (isDfmError(error)) {
    const file = typeof error.details?.file === 'string' ? { file: error.details.file } : {};
    return { code: error.code, message: error.message, ...file };
  }
  return { code: 'SYNC_FAILED', message: messageOf(error) };
}

async function githubAuthorization(deps: SyncDependencies, source: SyncSource): Promise<string> {
  if (deps.githubAuthorization === undefined || source.installationId === null) {
    throw new DfmError('GITHUB_NOT_CONFIGURED', `${source.id} is fetched with the GitHub App's installation token; set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET`);
  }
  return deps.githubAuthorization(source.installationId);
}

export function gitCacheDir(config: Pick<Config, 'gitCacheDir' | 'dataDir'>): string {
  return config.gitCacheDir ?? `${config.dataDir}/git`;
}

async function record(
  db: pg.Pool,
  source: SyncSource,
  request: SyncRequest,
  startedAt: Date,
  entry: { outcome: SyncOutcome; sha: string | null; errors: SyncError[]; summary: string; paused?: string[] },
): Promise<Omit<SyncResult, 'sourceId' | 'durationMs'>> {
  const syncId = await insertSync(db, source.id, request.trigger, startedAt, { ...entry, changed: [], paused: entry.paused ?? [] });
  await db.query('update dfm.sync_source set last_checked_at = now() where id = $1', [source.id]);
  return { outcome: entry.outcome, sha: entry.sha, syncId, errors: entry.errors, changed: [], paused: entry.paused ?? [], summary: entry.summary };
}

async function insertSync(
  db: Queryable,
  sourceId: string,
  trigger: string,
  startedAt: Date,
  entry: { outcome: SyncOutcome; sha: string | null; errors: readonly SyncError[]; changed: readonly string[]; paused: readonly string[] },
): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `insert into dfm.sync (source_id, trigger, sha, outcome, errors, changed, paused, started_at, duration_ms)
     values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, greatest(0, round(extract(epoch from clock_timestamp() - $8::timestamptz) * 1000))::int)
     returning id`,
    [sourceId, trigger, entry.sha, entry.outcome, JSON.stringify(entry.errors), entry.changed, entry.paused, startedAt],
  );
  return Number(rows[0]!.id);
}

const short = (sha: string) => (sha.startsWith('local:') ? sha : sha.slice(0, 7));
