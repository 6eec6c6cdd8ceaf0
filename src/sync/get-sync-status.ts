/**
 * What `dfm sync --status` and `GET /api/sync` show for each source: the active commit, the last
 * sync that looked at a new commit (when, how long, outcome, errors with positions), when the head
 * was last checked, and a prune held for confirmation.
 */
import type { Queryable } from '../db/with-transaction.js';
import { listSyncSources, type SyncSource } from './sync-source.js';
import type { SyncError } from './run-sync.js';

export interface SyncRecord {
  readonly id: number;
  readonly trigger: string;
  readonly sha: string | null;
  readonly outcome: string;
  readonly errors: readonly SyncError[];
  readonly changed: readonly string[];
  readonly paused: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}

export interface SourceStatus {
  readonly id: string;
  readonly kind: SyncSource['kind'];
  readonly url: string | null;
  readonly branch: string | null;
  readonly path: string;
  readonly enabled: boolean;
  readonly active: { sha: string; commit: SyncSource['activeCommit']; activatedAt: string | null } | null;
  readonly lastCheckedAt: string | null;
  readonly lastSync: SyncRecord | null;
  readonly heldPrune: SyncSource['heldPrune'];
  readonly pipelines: { active: number; paused: number };
}

export async function getSyncStatus(db: Queryable, options: { includeDisabled?: boolean } = {}): Promise<SourceStatus[]> {
  const sources = await listSyncSources(db, { enabledOnly: !options.includeDisabled });
  const { rows: last } = await db.query<{ id: string; source_id: string; trigger: string; sha: string | null; outcome: string; errors: SyncError[]; changed: string[]; paused: string[]; started_at: Date; finished_at: Date; duration_ms: number }>(
    `select distinct on (source_id) * from dfm.sync where source_id = any($1::text[]) order by source_id, id desc`,
    [sources.map((s) => s.id)],
  );
  const { rows: counts } = await db.query<{ source_id: string; active: number; paused: number }>(
    `select source_id, count(*) filter (where not paused)::int as active, count(*) filter (where paused)::int as paused from dfm.pipeline group by source_id`,
  );
  return sources.map((s) => {
    const l = last.find((r) => r.source_id === s.id);
    const c = counts.find((r) => r.source_id === s.id);
    return {
      id: s.id,
      kind: s.kind,
      url: s.url,
      branch: s.branch,
      path: s.path,
      enabled: s.enabled,
      active: s.activeSha === null ? null : { sha: s.activeSha, commit: s.activeCommit, activatedAt: s.activatedAt?.toISOString() ?? null },
      lastCheckedAt: s.lastCheckedAt?.toISOString() ?? null,
      lastSync: l === undefined
        ? null
        : { id: Number(l.id), trigger: l.trigger, sha: l.sha, outcome: l.outcome, errors: l.errors, changed: l.changed, paused: l.paused, startedAt: l.started_at.toISOString(), finishedAt: l.finished_at.toISOString(), durationMs: l.duration_ms },
      heldPrune: s.heldPrune,
      pipelines: { active: c?.active ?? 0, paused: c?.paused ?? 0 },
    };
  });
}

/** The status as text lines for the terminal. */
export function formatSyncStatus(statuses: readonly SourceStatus[]): string {
  if (statuses.length === 0) return 'no sync sources are configured\n';
  const lines: string[] = [];
  for (const s of statuses) {
    lines.push(`${s.id}${s.enabled ? '' : ' (disabled)'}`);
    if (s.kind !== 'local') lines.push(`  branch   ${s.branch ?? '(default)'}, folder ${s.path}`);
    else lines.push(`  folder   ${s.path}`);
    lines.push(`  active   ${s.active === null ? 'nothing yet' : `${s.active.sha}${s.active.commit ? ` "${firstLine(s.active.commit.message)}" by ${s.active.commit.author} at ${s.active.commit.committedAt}` : ''}`}`);
    lines.push(`  pipelines ${s.pipelines.active} active, ${s.pipelines.paused} paused`);
    if (s.lastSync !== null) {
      const l = s.lastSync;
      lines.push(`  last sync ${l.outcome} ${l.sha ?? ''} at ${l.finishedAt} (${l.durationMs} ms, ${l.trigger})`);
      for (const e of l.errors) lines.push(`    ${e.file ? `${e.file}:${e.line ?? 1}:${e.column ?? 1} ` : ''}${e.code} ${e.message}`);
    }
    if (s.lastCheckedAt !== null) lines.push(`  checked  ${s.lastCheckedAt}`);
    if (s.heldPrune !== null) {
      lines.push(`  HELD     ${s.heldPrune.sha} would pause ${s.heldPrune.pause.length} of ${s.heldPrune.activeCount} active pipelines: ${s.heldPrune.pause.join(', ')}`);
      lines.push(`           confirm with: dfm sync --confirm ${s.heldPrune.sha}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const firstLine = (text: string) => text.split('\n')[0]!.slice(0, 72);
