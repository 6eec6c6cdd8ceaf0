/**
 * kill -9 of a dfm process in the middle of a sync of 100 changed pipelines, at several moments:
 * afterwards every pipeline's active version comes from one commit — the old or the new, never a
 * mix — the source's active commit says the same, and after a restart the next sync completes.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepository, createTempDir, createWorkTree, removeTempDir, type BareRepository, type WorkTree } from '../helpers/git-remote.js';
import { spawnDfm, type DfmProcess } from '../helpers/dfm-process.js';
import { useOrchestration } from '../helpers/orchestration.js';

const SECRET = 'the sync secret of the crash test';
const PIPELINES = 100;
const { o, database } = useOrchestration();
let root: string;
let dataDir: string;
let repo: BareRepository;
let work: WorkTree;
const processes: DfmProcess[] = [];

async function commitAll(round: number): Promise<string> {
  for (let i = 0; i < PIPELINES; i++) {
    const id = `p${String(i).padStart(3, '0')}`;
    await work.write(`pipelines/${id}.yaml`, `id: ${id}\ntasks:\n  a: { type: postgres.sql, sql: "select ${round}" }\n  b: { type: postgres.sql, needs: [a], sql: "select ${round} + 1" }\n`);
  }
  const sha = await work.commit(`round ${round}`);
  await work.push();
  return sha;
}

async function serve(): Promise<{ dfm: DfmProcess; url: string }> {
  const dfm = spawnDfm(['serve'], { DATABASE_URL: database.url, DFM_GIT_URL: repo.path, DFM_DATA_DIR: dataDir, DFM_SYNC_INTERVAL_MS: '0', DFM_SYNC_SECRET: SECRET });
  processes.push(dfm);
  await dfm.waitForOutput(/dfm is serving on http:\/\/localhost:\d+/);
  return { dfm, url: `http://127.0.0.1:${/dfm is serving on http:\/\/localhost:(\d+)/.exec(dfm.output())![1]}` };
}

function requestSync(url: string, sha: string): Promise<Response> {
  const body = JSON.stringify({ sha });
  return fetch(`${url}/api/sync`, { method: 'POST', headers: { 'x-dfm-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body });
}

/** The commits the active versions come from, and the source's active commit. */
async function activeCommits(): Promise<{ versions: string[]; source: string | null }> {
  const versions = await o.pool.query<{ source_ref: string }>('select distinct v.source_ref from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id where not p.paused');
  const count = await o.pool.query<{ n: number }>('select count(*)::int as n from dfm.pipeline where not paused');
  expect(count.rows[0]!.n).toBe(PIPELINES);
  const source = await o.pool.query<{ active_sha: string | null }>("select active_sha from dfm.sync_source where kind = 'git'");
  return { versions: versions.rows.map((r) => r.source_ref), source: source.rows[0]?.active_sha ?? null };
}

beforeAll(async () => {
  root = await createTempDir('dfm-crash-remote-');
  dataDir = await createTempDir('dfm-crash-data-');
  repo = await createBareRepository(root, 'pipelines.git');
  work = await createWorkTree(repo.fileUrl);
});
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await work?.close();
  await removeTempDir(root);
  await removeTempDir(dataDir);
});

describe('kill -9 during a sync', () => {
  it('leaves the old revision or the new one active, never a mix, and the next sync completes', async () => {
    let previous = await commitAll(0);
    let { dfm, url } = await serve();
    await expect.poll(async () => (await activeCommits()).source, { timeout: 30_000 }).toBe(previous);

    const seen: string[] = [];
    // Killed right after the job is claimed (fetching), a little later, and while the activation
    // transaction is open (its statements on dfm.pipeline_version seen in pg_stat_activity).
    for (const [round, moment] of [[1, 0], [2, 60], [3, 'in-transaction'], [4, 'in-transaction']] as const) {
      const next = await commitAll(round);
      const answered = await requestSync(url, next);
      expect(answered.status).toBe(202);
      await expect.poll(async () => (await o.pool.query("select count(*)::int as n from dfm.job where kind = 'sync' and state = 'running'")).rows[0].n, { timeout: 10_000, interval: 2 }).toBeGreaterThan(0);
      if (moment === 'in-transaction') {
        await expect
          .poll(async () => (await o.pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null and query like '%definition_hash%' and query not like '%pg_stat_activity%'")).rows[0].n, { timeout: 10_000, interval: 1 })
          .toBeGreaterThan(0);
      } else {
        await new Promise((r) => setTimeout(r, moment));
      }
      dfm.kill('SIGKILL');
      await dfm.exited;

      const after = await activeCommits();
      expect(after.versions).toHaveLength(1);
      expect([previous, next]).toContain(after.versions[0]);
      expect(after.source).toBe(after.versions[0]);
      seen.push(after.versions[0] === next ? 'new' : 'old');

      // Restarted, the next trigger (the commit again) completes the sync.
      ({ dfm, url } = await serve());
      expect((await requestSync(url, next)).status).toBe(202);
      await expect.poll(async () => (await activeCommits()).source, { timeout: 30_000 }).toBe(next);
      expect((await activeCommits()).versions).toEqual([next]);
      previous = next;
    }
    console.log(`kill -9 during a sync: revision active right after each kill: ${seen.join(', ')}`);
    dfm.kill('SIGTERM');
    expect(await dfm.exited).toBe(0);
  }, 240_000);
});
