/**
 * The Git sync against a real remote (`git daemon` on loopback, and a file URL): the branch head
 * becomes active in one transaction with its commit's SHA, author and message; an invalid push
 * changes nothing and keeps its errors with positions; a removed file pauses its pipeline (runs
 * kept); removing them all is held until `dfm sync --confirm`; a running run keeps its version;
 * concurrent and out-of-order syncs end on the newest commit; oversized folders and files are
 * refused with a clear error.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load-config.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { syncDependencies, syncJobHandlers } from '../../src/service/sync-job-handlers.js';
import { requestSync } from '../../src/sync/request-sync.js';
import { runSync, type SyncResult } from '../../src/sync/run-sync.js';
import { registerConfiguredSources } from '../../src/sync/sync-source.js';
import { startJobRunner } from '../../src/jobs/start-job-runner.js';
import { createMetrics } from '../../src/metrics/create-metrics.js';
import { createBareRepository, createTempDir, createWorkTree, removeTempDir, startGitDaemon, type BareRepository, type GitDaemon, type WorkTree } from '../helpers/git-remote.js';
import { testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const { o, database } = useOrchestration();
let root: string;
let repo: BareRepository;
let daemon: GitDaemon;
let work: WorkTree;
let config: Config;
let sourceId: string;

const pipeline = (id: string, sql = 'select 1') => `id: ${id}\ntasks:\n  only: { type: postgres.sql, sql: "${sql}" }\n`;
const sync = (extra: { sha?: string; confirm?: string } = {}): Promise<SyncResult> => runSync(syncDependencies({ pool: o.pool, config, logger: testLogger }), { sourceId, trigger: 'test', ...extra });

async function active(): Promise<Record<string, { paused: boolean; sha: string; author: string | null; message: string | null }>> {
  const { rows } = await o.pool.query<{ id: string; paused: boolean; source_ref: string; commit_author: string | null; commit_message: string | null }>(
    `select p.id, p.paused, v.source_ref, v.commit_author, v.commit_message from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id order by p.id`,
  );
  return Object.fromEntries(rows.map((r) => [r.id, { paused: r.paused, sha: r.source_ref, author: r.commit_author, message: r.commit_message }]));
}
const activeSha = async () => (await o.pool.query<{ active_sha: string | null }>('select active_sha from dfm.sync_source where id = $1', [sourceId])).rows[0]!.active_sha;

beforeAll(async () => {
  root = await createTempDir('dfm-sync-remote-');
  repo = await createBareRepository(root, 'pipelines.git');
  daemon = await startGitDaemon({ root });
  work = await createWorkTree(repo.fileUrl);
  const dataDir = await createTempDir('dfm-sync-data-');
  config = loadConfig({ DATABASE_URL: database.url, DFM_GIT_URL: `${daemon.url}pipelines.git`, DFM_DATA_DIR: dataDir, DFM_SYNC_INTERVAL_MS: '0' });
  sourceId = (await registerConfiguredSources(o.pool, config))[0]!.id;
});
afterAll(async () => {
  await work?.close();
  await daemon?.close();
  await removeTempDir(root);
  await removeTempDir(config.dataDir);
});

describe('a Git source', () => {
  let first: string;

  it("makes the default branch's head active, each version with its commit's SHA, author and message", async () => {
    await work.write('pipelines/orders.yaml', pipeline('orders'));
    await work.write('pipelines/nested/customers.yml', pipeline('customers'));
    await work.write('pipelines/payments.yaml', pipeline('payments'));
    await work.write('README.md', 'not a pipeline');
    await work.write('elsewhere/outside.yaml', pipeline('outside'));
    first = await work.commit('Add three pipelines\n\nWith a body.', { author: { name: 'Ada Lovelace', email: 'ada@example.com' } });
    await work.push();

    const result = await sync();
    expect(result).toMatchObject({ outcome: 'applied', sha: first, paused: [] });
    expect([...result.changed].sort()).toEqual(['customers', 'orders', 'payments']);
    expect(await active()).toEqual({
      customers: { paused: false, sha: first, author: 'Ada Lovelace <ada@example.com>', message: 'Add three pipelines\n\nWith a body.' },
      orders: { paused: false, sha: first, author: 'Ada Lovelace <ada@example.com>', message: 'Add three pipelines\n\nWith a body.' },
      payments: { paused: false, sha: first, author: 'Ada Lovelace <ada@example.com>', message: 'Add three pipelines\n\nWith a body.' },
    });
    expect(await activeSha()).toBe(first);
    // The same head again: nothing new, no history row.
    expect((await sync()).outcome).toBe('unchanged');
    expect((await o.pool.query('select count(*)::int as n from dfm.sync where source_id = $1', [sourceId])).rows[0].n).toBe(1);
  });

  it('keeps the previous versions active when a push is invalid, and stores its errors with positions', async () => {
    await work.write('pipelines/orders.yaml', 'id: orders\ntasks:\n  only: { type: postgres.sql, sql: "select 2" }\n');
    await work.write('pipelines/payments.yaml', 'id: payments\ntasks:\n  only: { type: postgres.sqll, sql: "select 1" }\n');
    const bad = await work.commit('Break payments');
    await work.push();
    const result = await sync();
    expect(result.outcome).toBe('invalid');
    expect(result.errors).toEqual([expect.objectContaining({ file: 'pipelines/payments.yaml', line: 3, column: 17, code: 'unknown-task-type' })]);
    expect(await activeSha()).toBe(first);
    expect(Object.values(await active()).map((p) => p.sha)).toEqual([first, first, first]);
    const stored = await o.pool.query("select sha, errors from dfm.sync where source_id = $1 and outcome = 'invalid'", [sourceId]);
    expect(stored.rows).toEqual([{ sha: bad, errors: [expect.objectContaining({ file: 'pipelines/payments.yaml', line: 3, column: 17, code: 'unknown-task-type' })] }]);
    const status = await runCliCaptured(['sync', '--status'], { env: { DATABASE_URL: database.url } });
    expect(status.stdout).toContain('pipelines/payments.yaml:3:17 unknown-task-type');
  });

  it('pauses a pipeline whose file is removed and keeps its runs; a running run finishes on its old version', async () => {
    // A run of `orders` that is still running while the next commit becomes active.
    await work.write('pipelines/payments.yaml', pipeline('payments'));
    await work.write('pipelines/orders.yaml', pipeline('orders', 'select pg_sleep(1.5)'));
    const slow = await work.commit('Slow orders down');
    await work.push();
    expect((await sync()).outcome).toBe('applied');
    const worker = o.startWorker();
    const { runId: running } = await triggerRun(o.pool, { pipelineId: 'orders' });
    const { runId: kept } = await triggerRun(o.pool, { pipelineId: 'customers' });
    await expect.poll(async () => (await o.pool.query('select state from dfm.run where id = $1', [running])).rows[0].state, { timeout: 10_000 }).toBe('running');

    await work.remove('pipelines/nested/customers.yml');
    await work.write('pipelines/orders.yaml', pipeline('orders', 'select 3'));
    const next = await work.commit('Drop customers, speed orders up', { author: { name: 'Grace Hopper', email: 'grace@example.com' } });
    await work.push();
    const result = await sync();
    expect(result).toMatchObject({ outcome: 'applied', sha: next, changed: ['orders'], paused: ['customers'] });

    expect(await waitForRun(o.pool, running)).toBe('success');
    expect(await waitForRun(o.pool, kept)).toBe('success');
    const runVersion = async (runId: number) => (await o.pool.query('select v.source_ref from dfm.run r join dfm.pipeline_version v on v.id = r.version_id where r.id = $1', [runId])).rows[0].source_ref;
    expect(await runVersion(running)).toBe(slow);
    const { runId: after } = await triggerRun(o.pool, { pipelineId: 'orders' });
    expect(await runVersion(after)).toBe(next);
    expect(await waitForRun(o.pool, after)).toBe('success');
    await worker.stop();

    const now = await active();
    expect(now.customers).toMatchObject({ paused: true });
    expect(now.orders).toMatchObject({ paused: false, sha: next, author: 'Grace Hopper <grace@example.com>' });
    // payments has had the same definition since `first` (the invalid commit never became active):
    // it keeps the version of the commit that last changed it.
    expect(now.payments).toMatchObject({ paused: false, sha: first });
    expect((await o.pool.query("select paused_by from dfm.pipeline where id = 'customers'")).rows[0].paused_by).toBe('sync');
    expect((await o.pool.query('select count(*)::int as n from dfm.run where id = $1', [kept])).rows[0].n).toBe(1);
    const listed = await runCliCaptured(['runs', 'orders'], { env: { DATABASE_URL: database.url } });
    expect(listed.stdout).toContain(next.slice(0, 12));
    expect(listed.stdout).toContain(slow.slice(0, 12));
  });

  it('holds a sync that would pause every pipeline until `dfm sync --confirm <sha>`', async () => {
    await work.remove('pipelines');
    const empty = await work.commit('Remove every pipeline');
    await work.push();
    const result = await sync();
    expect(result.outcome).toBe('held');
    expect(result.held).toMatchObject({ sha: empty, pause: ['orders', 'payments'], activeCount: 2 });
    expect(Object.entries(await active()).filter(([, p]) => !p.paused).map(([id]) => id)).toEqual(['orders', 'payments']);
    // Asked again (a poll), it stays held without a new history row.
    expect((await sync({ sha: empty })).outcome).toBe('skipped');

    const env = { DATABASE_URL: database.url, DFM_GIT_URL: `${daemon.url}pipelines.git`, DFM_DATA_DIR: config.dataDir };
    const status = await runCliCaptured(['sync', '--status'], { env });
    expect(status.stdout).toContain(`HELD     ${empty} would pause 2 of 2 active pipelines: orders, payments`);
    expect((await runCliCaptured(['sync', '--confirm', first], { env })).code).toBe(1);
    const confirmed = await runCliCaptured(['sync', '--confirm', empty], { env });
    expect(confirmed.stderr).toBe('');
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain(`${sourceId}: applied`);
    expect(Object.values(await active()).every((p) => p.paused)).toBe(true);
    expect(await activeSha()).toBe(empty);
    const audit = await o.pool.query("select actor, action, target, outcome from dfm.audit where action = 'confirm-prune' order by id");
    expect(audit.rows.map((r) => [r.action, r.target, r.outcome])).toEqual([
      ['confirm-prune', first, 'refused'],
      ['confirm-prune', empty, 'ok'],
    ]);
    expect(audit.rows[1].actor).toMatch(/^cli:/);

    // The files coming back lift the pause their removal caused.
    await work.write('pipelines/orders.yaml', pipeline('orders'));
    await work.write('pipelines/payments.yaml', pipeline('payments'));
    await work.commit('Bring them back');
    await work.push();
    expect((await sync()).outcome).toBe('applied');
    expect(Object.entries(await active()).filter(([, p]) => !p.paused).map(([id]) => id)).toEqual(['orders', 'payments']);
  });

  it('ends on the newest commit when pushes are synced concurrently and out of order, and never goes back', async () => {
    await work.write('pipelines/orders.yaml', pipeline('orders', 'select 10'));
    const a = await work.commit('A');
    await work.push();
    await work.write('pipelines/orders.yaml', pipeline('orders', 'select 11'));
    const b = await work.commit('B');
    await work.push();
    // B's webhook arrives before A's; both syncs run at once.
    const results = await Promise.all([sync({ sha: b }), sync({ sha: a })]);
    // The first to take the source's lock applies the head (B); the other finds B active.
    expect(results.filter((r) => r.outcome === 'applied').map((r) => r.sha)).toEqual([b]);
    expect(results.filter((r) => r.outcome !== 'applied').map((r) => r.outcome)).toEqual([expect.stringMatching(/^(unchanged|skipped)$/)]);
    expect(await activeSha()).toBe(b);
    expect((await active()).orders!.sha).toBe(b);

    // The branch is moved back to A (a force-push of an older commit): the sync refuses to go back.
    await work.git('reset', '--hard', a);
    await work.push('main', { force: true });
    const back = await sync();
    expect(back.outcome).toBe('stale');
    expect(await activeSha()).toBe(b);
    await work.git('reset', '--hard', b);
    await work.push('main', { force: true });
  });

  it('many triggers of one commit make one sync (the durable job)', async () => {
    await work.write('pipelines/orders.yaml', pipeline('orders', 'select 12'));
    const c = await work.commit('C');
    await work.push();
    await Promise.all(Array.from({ length: 10 }, () => requestSync(o.pool, { sourceId, trigger: 'webhook', sha: c })));
    const runner = startJobRunner({ pool: o.pool, databaseUrl: database.url, logger: testLogger, metrics: createMetrics(), handlers: syncJobHandlers({ pool: o.pool, config, logger: testLogger }), pollIntervalMs: 200 });
    try {
      await expect.poll(activeSha, { timeout: 15_000 }).toBe(c);
      await expect.poll(async () => (await o.pool.query("select count(*)::int as n from dfm.job where kind = 'sync' and state in ('pending', 'running')")).rows[0].n, { timeout: 10_000 }).toBe(0);
    } finally {
      await runner.stop();
    }
    expect((await o.pool.query('select count(*)::int as n from dfm.sync where source_id = $1 and sha = $2', [sourceId, c])).rows[0].n).toBe(1);
  });

  it('refuses a folder of more than 10,000 pipeline files and a file over 10 MB with a clear error, keeping the active commit', async () => {
    const before = await activeSha();
    await work.write('pipelines/huge.yaml', `# ${'x'.repeat(10 * 1024 * 1024)}\n${pipeline('huge')}`);
    await work.commit('A 10 MB file');
    await work.push();
    await expect(sync()).rejects.toThrow(/pipelines\/huge\.yaml is \d+ bytes, more than the 10485760/);
    expect(await activeSha()).toBe(before);
    await work.remove('pipelines/huge.yaml');
    for (let i = 0; i <= 10_000; i++) await work.write(`pipelines/many/p${i}.yaml`, pipeline(`p${i}`));
    await work.commit('10,001 files');
    await work.push();
    await expect(sync()).rejects.toThrow(/pipelines holds 10003 pipeline files; at most 10000 are read/);
    expect(await activeSha()).toBe(before);
    const failed = await o.pool.query("select errors from dfm.sync where source_id = $1 and outcome = 'failed' order by id", [sourceId]);
    expect(failed.rows.map((r) => r.errors[0].code)).toEqual(['PIPELINE_FILE_TOO_LARGE', 'PIPELINES_TOO_MANY']);
    await work.remove('pipelines/many');
    await work.commit('Back to two');
    await work.push();
    expect((await sync()).outcome).toBe('applied');
  }, 120_000);
});

describe('git injection', () => {
  it('refuses option-like refs, transport helpers and option-like branch names before git runs', async () => {
    const marker = `/tmp/dfm-injected-${process.pid}`;
    const base = { DATABASE_URL: database.url };
    expect(() => loadConfig({ ...base, DFM_GIT_URL: `ext::sh -c touch% ${marker}` })).toThrow(/transport helpers/);
    expect(() => loadConfig({ ...base, DFM_GIT_URL: `--upload-pack=touch ${marker}` })).toThrow(/starts with "-"/);
    expect(() => loadConfig({ ...base, DFM_GIT_URL: `ssh://-oProxyCommand=touch%20${marker}/x` })).toThrow(/host or user starts with "-"/);
    expect(() => loadConfig({ ...base, DFM_GIT_URL: repo.fileUrl, DFM_GIT_BRANCH: `--upload-pack=touch ${marker}` })).toThrow(/DFM_GIT_BRANCH/);
    expect(() => loadConfig({ ...base, DFM_GIT_URL: repo.fileUrl, DFM_GIT_BRANCH: '-x' })).toThrow(/starts with "-"/);
    // A source whose stored URL or branch is hostile (a GitHub API answer, say) is refused by the sync itself.
    await o.pool.query(
      `insert into dfm.sync_source (id, kind, url, branch, path) values ('github:evil/one', 'github', $1, 'main', 'pipelines'), ('git:evil-branch', 'git', $2, $3, 'pipelines')`,
      [`ext::sh -c touch% ${marker}`, repo.fileUrl, `--upload-pack=touch ${marker}`],
    );
    const deps = syncDependencies({ pool: o.pool, config, logger: testLogger });
    await expect(runSync({ ...deps, githubAuthorization: async () => 'Basic x' }, { sourceId: 'git:evil-branch', trigger: 'test' })).rejects.toThrow(/starts with "-"/);
    await o.pool.query("update dfm.sync_source set installation_id = 1 where id = 'github:evil/one'");
    await expect(runSync({ ...deps, githubAuthorization: async () => 'Basic x' }, { sourceId: 'github:evil/one', trigger: 'test' })).rejects.toThrow(/transport helpers/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('a file URL source', () => {
  it('syncs from a local path as well', async () => {
    const local = loadConfig({ DATABASE_URL: database.url, DFM_GIT_URL: repo.path, DFM_GIT_BRANCH: 'main', DFM_DATA_DIR: config.dataDir });
    const [source] = await registerConfiguredSources(o.pool, local);
    await o.pool.query("update dfm.pipeline set source_id = $1 where source_id = $2", [source!.id, sourceId]);
    const result = await runSync(syncDependencies({ pool: o.pool, config: local, logger: testLogger }), { sourceId: source!.id, trigger: 'test' });
    expect(result.outcome).toBe('applied');
    expect(result.sha).toBe(await work.git('rev-parse', 'HEAD').then((s) => s.trim()));
  });
});
