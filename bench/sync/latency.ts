/**
 * Push → new version active: change one pipeline of the 100, commit and push (not timed), then
 * t0 just before the webhook request is sent, t1 when a poll (every 5 ms, its own connection)
 * first sees dfm.sync_source.active_sha = the new sha, i.e. the activation has committed.
 * Both clocks are this process's performance.now(). activated_at (now() of the activation
 * transaction, DB clock) − t0 is kept as a second figure: it is the transaction's start, so it
 * reads a little earlier than the commit.
 */
import type pg from 'pg';
import type { WorkTree } from '../../test/helpers/git-remote.js';

export const PIPELINES = 100;
const POLL_MS = 5;

export const pipelineId = (i: number) => `p${String(i).padStart(3, '0')}`;
export const pipelineYaml = (id: string, sql: string) => `id: ${id}\ntasks:\n  only: { type: postgres.sql, sql: "${sql}" }\n`;

/** The repository of 100 pipelines, committed and pushed; resolves to the commit's sha. */
export async function seedRepository(tree: WorkTree): Promise<string> {
  for (let i = 0; i < PIPELINES; i++) await tree.write(`pipelines/${pipelineId(i)}.yaml`, pipelineYaml(pipelineId(i), 'select 1'));
  const sha = await tree.commit(`Add ${PIPELINES} pipelines`);
  await tree.push();
  return sha;
}

export async function waitForActiveSha(pool: pg.Pool, sourceId: string, sha: string, timeoutMs: number): Promise<{ seenAt: number; activatedAt: Date }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ active_sha: string | null; activated_at: Date | null }>('select active_sha, activated_at from dfm.sync_source where id = $1', [sourceId]);
    const seenAt = performance.now();
    if (rows[0]?.active_sha === sha) return { seenAt, activatedAt: rows[0].activated_at! };
    if (seenAt > deadline) throw new Error(`source ${sourceId} did not activate ${sha} within ${timeoutMs} ms (active: ${rows[0]?.active_sha ?? 'none'})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface LatencySamples {
  readonly label: string;
  /** t0 → the poll sees the new active sha (ms). */
  readonly observedMs: number[];
  /** t0 → activated_at (ms, the DB clock minus this process's wall clock). */
  readonly activatedAtMs: number[];
}

/**
 * `samples` pushes, one at a time. `trigger(before, after)` sends the webhook and resolves once
 * it is answered (the answer is not waited for in the figure's sense: t1 comes from the poll).
 */
export async function measurePushToActive(options: {
  label: string;
  tree: WorkTree;
  pool: pg.Pool;
  sourceId: string;
  samples: number;
  initialSha: string;
  trigger: (before: string, after: string) => Promise<void>;
}): Promise<LatencySamples> {
  const observedMs: number[] = [];
  const activatedAtMs: number[] = [];
  let before = options.initialSha;
  for (let n = 0; n < options.samples; n++) {
    const id = pipelineId(n % PIPELINES);
    await options.tree.write(`pipelines/${id}.yaml`, pipelineYaml(id, `select ${n + 2}`));
    const after = await options.tree.commit(`Change ${id} (sample ${n})`);
    await options.tree.push();
    // Wall clock and monotonic clock taken together: activated_at is compared with the first.
    const wall0 = Date.now();
    const t0 = performance.now();
    const answered = options.trigger(before, after);
    const { seenAt, activatedAt } = await waitForActiveSha(options.pool, options.sourceId, after, 30_000);
    await answered;
    observedMs.push(seenAt - t0);
    activatedAtMs.push(activatedAt.getTime() - wall0);
    before = after;
  }
  return { label: options.label, observedMs, activatedAtMs };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
