/**
 * The reporting outbox under faults (issue 15), end to end on loopback: real PostgreSQL, real Git
 * over smart HTTP, the strict GitHub API stand-in (every request checked against GitHub's OpenAPI
 * description) and real dfm — in process for the API faults, as `dfm serve` processes for kill -9
 * and for two reporters at once. A run's start and end each put a commit status (`dfm/<pipeline>`)
 * in the outbox, in the run's own transactions; what GitHub saw is read back from the stand-in.
 *
 * - 500 three times, then 200: each status arrives once, in order, the row counts 4 attempts;
 * - a 403 secondary rate limit with `retry-after: 3` for one repository delays that repository
 *   only, by at least 3 s;
 * - a 422 is recorded failed and the repository's later reports go on;
 * - kill -9 with reports waiting: after a restart each is delivered, none twice;
 * - two reporters at once: every report exactly once, in order per repository.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { enqueueReports } from '../../src/outbox/enqueue-report.js';
import { COMMIT_STATUS_REPORT } from '../../src/runs/report-run-states.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { serviceRoles } from '../../src/service/service-roles.js';
import { eventually, spawnDfm, type DfmProcess } from '../helpers/dfm-process.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitHttpServer, type GitHttpServer, type WorkTree } from '../helpers/git-remote.js';
import { startGitHubStandIn, type GitHubStandIn, type HandlerInput, type RecordedRequest } from '../helpers/github-api-stand-in.js';
import { trackGitHubState, type GitHubState } from '../helpers/github-state.js';
import { testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const INSTALLATION = 6161;
const WEBHOOK_SECRET = 'a webhook secret for the outbox tests';
const PUBLIC_URL = 'https://dfm.example.com';
const REPOSITORIES = ['alpha', 'beta', 'gamma', 'delta'] as const;
const STATUS = 'repos/create-commit-status';
const { o, database } = useOrchestration();
let standIn: GitHubStandIn;
let github: GitHubState;
let gitRoot: string;
let dataDir: string;
let http: GitHttpServer;
const trees: WorkTree[] = [];
const heads = new Map<string, string>();
let service: RunningService | undefined;
const processes: DfmProcess[] = [];

const repoOf = (input: HandlerInput) => `${input.params['owner']}/${input.params['repo']}`;
const onRepository = (name: string) => (input: HandlerInput) => repoOf(input) === `acme/${name}`;
const runOfUrl = (url: unknown) => Number(/\/runs\/(\d+)$/.exec(String(url ?? ''))?.[1]);
const body = (r: RecordedRequest) => r.body as { state: string; context: string; target_url: string };
/** The commit statuses GitHub accepted for a run, in arrival order. */
const acceptedStates = (runId: number) => github.statuses.filter((s) => runOfUrl(s.targetUrl) === runId).map((s) => s.state);
/** Every status request for a run, as `<state> <HTTP status>`. */
const attemptsOf = (runId: number) => standIn.requestsFor(STATUS).filter((r) => runOfUrl(body(r).target_url) === runId).map((r) => `${body(r).state} ${r.status}`);
const outboxRows = async (runIds: readonly number[]) =>
  (await o.pool.query<{ id: string; target: string; state: string; attempts: number; last_error: string | null; run: number }>(
    "select id, target, state, attempts, last_error, (payload->>'runId')::int as run from dfm.outbox where kind = $1 and (payload->>'runId')::bigint = any($2::bigint[]) order by id",
    [COMMIT_STATUS_REPORT, runIds],
  )).rows;

const appEnv = () => ({
  DATABASE_URL: database.url,
  APP_ID: String(standIn.appId),
  PRIVATE_KEY: standIn.privateKey,
  WEBHOOK_SECRET,
  GITHUB_API_URL: standIn.url,
  DFM_GITHUB_THROTTLE: 'false',
  DFM_OUTBOX_RETRY_BASE_MS: '100',
  DFM_PUBLIC_URL: PUBLIC_URL,
  DFM_SYNC_INTERVAL_MS: '0',
  DFM_DATA_DIR: dataDir,
});

beforeAll(async () => {
  standIn = await startGitHubStandIn();
  github = trackGitHubState(standIn);
  gitRoot = await createTempDir('dfm-outbox-git-');
  dataDir = await createTempDir('dfm-outbox-data-');
  http = await startGitHttpServer({
    root: gitRoot,
    checkAuth: (header) => {
      const credentials = parseBasicAuth(header);
      return credentials?.username === 'x-access-token' && standIn.isValidToken(credentials.password, INSTALLATION);
    },
  });
  for (const name of REPOSITORIES) {
    const repo = await createBareRepository(gitRoot, `acme/${name}.git`);
    const tree = await createWorkTree(repo.fileUrl);
    trees.push(tree);
    await tree.write(`pipelines/${name}.yaml`, `id: ${name}\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n`);
    heads.set(name, await tree.commit(`Add ${name}`));
    await tree.push();
  }
  standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: REPOSITORIES.map((name) => ({ name, owner: 'acme', cloneUrl: `${http.url}/acme/${name}.git` })) });

  const config = loadConfig({ ...appEnv(), KAFKA_BROKERS: inject('kafkaBrokers').join(','), PORT: '0', HOST: '127.0.0.1', DFM_POLL_INTERVAL_MS: '300' });
  service = await startService({ config, logger: testLogger, role: 'all', roles: serviceRoles });
  for (const name of REPOSITORIES) {
    const synced = async () => ((await o.pool.query('select active_sha from dfm.sync_source where id = $1', [`github:acme/${name}`])).rows[0]?.active_sha === heads.get(name) ? true : undefined);
    await eventually(synced, 30_000, `github:acme/${name} synced`);
  }
});
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await service?.stop();
  for (const tree of trees) await tree.close();
  await http?.close();
  await standIn?.close();
  await removeTempDir(gitRoot);
  await removeTempDir(dataDir);
});

describe('the outbox delivers through GitHub failures', () => {
  it('retries a status GitHub answers 500 three times: each status arrives once, in order, and the row counts the attempts', async () => {
    github.failNext(STATUS, 3, { status: 500, body: { message: 'Server Error' } }, onRepository('alpha'));
    const { runId } = await triggerRun(o.pool, { pipelineId: 'alpha', requestedBy: 'test' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    await expect.poll(() => acceptedStates(runId), { timeout: 15_000 }).toEqual(['pending', 'success']);
    expect(attemptsOf(runId)).toEqual(['pending 500', 'pending 500', 'pending 500', 'pending 201', 'success 201']);
    // GitHub has answered; the row is marked right after.
    await expect.poll(async () => (await outboxRows([runId])).map((r) => r.state), { timeout: 5000 }).toEqual(['delivered', 'delivered']);
    const rows = await outboxRows([runId]);
    expect(rows.map((r) => ({ target: r.target, state: r.state, attempts: r.attempts, last_error: r.last_error }))).toEqual([
      { target: expect.stringMatching(/^github:acme\/alpha\|status:[0-9a-f]{40}:alpha$/), state: 'delivered', attempts: 4, last_error: null },
      { target: rows[0]!.target, state: 'delivered', attempts: 1, last_error: null },
    ]);
    // The status context's lane remembers why it waited last.
    expect((await o.pool.query('select last_error from dfm.outbox_target where target = $1', [rows[0]!.target])).rows[0].last_error).toMatch(/GitHub answered 500/);
    standIn.assertNoViolations();
  });

  it("delays only the repository GitHub rate-limits (403, retry-after: 3), by at least 3 s, while another repository's statuses go out", async () => {
    let limitedAt = 0;
    github.failNext(
      STATUS,
      1,
      { status: 403, headers: { 'retry-after': '3' }, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits' } },
      (input) => {
        if (!onRepository('alpha')(input)) return false;
        limitedAt = Date.now();
        return true;
      },
    );
    const [alpha, beta] = await Promise.all([triggerRun(o.pool, { pipelineId: 'alpha' }), triggerRun(o.pool, { pipelineId: 'beta' })]);
    await expect.poll(() => acceptedStates(beta.runId), { timeout: 10_000 }).toEqual(['pending', 'success']);
    await expect.poll(() => acceptedStates(alpha.runId), { timeout: 15_000 }).toEqual(['pending', 'success']);
    expect(limitedAt).toBeGreaterThan(0);
    const at = (runId: number) => github.statuses.filter((s) => runOfUrl(s.targetUrl) === runId).map((s) => s.at);
    const alphaNext = Math.min(...at(alpha.runId));
    // The limited repository's next attempt waited as GitHub asked (timer granularity aside) …
    expect(alphaNext - limitedAt).toBeGreaterThanOrEqual(2900);
    // … and the other repository's statuses, enqueued at the same time, went out meanwhile.
    expect(Math.max(...at(beta.runId))).toBeLessThan(alphaNext);
    expect(attemptsOf(alpha.runId)).toEqual(['pending 403', 'pending 201', 'success 201']);
    // GitHub has answered; the row is marked right after.
    await expect.poll(async () => (await outboxRows([alpha.runId])).map((r) => [r.state, r.attempts]), { timeout: 5000 }).toEqual([['delivered', 2], ['delivered', 1]]);
    standIn.assertNoViolations();
  });

  it("records a report GitHub rejects (422) as failed, and the repository's later reports still go out", async () => {
    github.failNext(
      STATUS,
      1,
      { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom', message: 'This SHA and context has reached the maximum number of statuses.' }], documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status' } },
      onRepository('alpha'),
    );
    const first = await triggerRun(o.pool, { pipelineId: 'alpha' });
    expect(await waitForRun(o.pool, first.runId)).toBe('success');
    await expect.poll(async () => (await outboxRows([first.runId])).map((r) => r.state), { timeout: 10_000 }).toEqual(['failed', 'delivered']);
    const [rejected] = await outboxRows([first.runId]);
    expect(rejected).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/GitHub answered 422/) });
    expect(acceptedStates(first.runId)).toEqual(['success']);
    expect(attemptsOf(first.runId)).toEqual(['pending 422', 'success 201']);

    const second = await triggerRun(o.pool, { pipelineId: 'alpha' });
    await expect.poll(() => acceptedStates(second.runId), { timeout: 10_000 }).toEqual(['pending', 'success']);
    await expect.poll(async () => (await outboxRows([second.runId])).map((r) => r.state), { timeout: 5000 }).toEqual(['delivered', 'delivered']);
    standIn.assertNoViolations();
  });
});

describe('dfm processes delivering the outbox', () => {
  /** A `dfm serve` process on this file's database and stand-in; resolves once it serves. */
  const serve = async (env: Record<string, string> = {}): Promise<{ dfm: DfmProcess; port: number }> => {
    const dfm = spawnDfm(['serve'], { ...appEnv(), DFM_OUTBOX_CONCURRENCY: '2', ...env });
    processes.push(dfm);
    await dfm.waitForOutput(/dfm is serving on http:\/\/localhost:\d+/, 60_000);
    return { dfm, port: Number(/dfm is serving on http:\/\/localhost:(\d+)/.exec(dfm.output())![1]) };
  };
  /** Each (repository, context, state, run) a 2xx answered, with how many times. */
  const acceptedTwice = () => {
    const seen = new Map<string, number>();
    for (const r of standIn.requestsFor(STATUS).filter((r) => r.status >= 200 && r.status < 300)) {
      const key = `${r.path.split('/').slice(2, 4).join('/')} ${body(r).context} ${body(r).state} ${runOfUrl(body(r).target_url)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1);
  };

  beforeAll(async () => {
    // From here on only dfm processes deliver.
    await service?.stop();
    service = undefined;
  });

  it('delivers the reports that waited through a kill -9 after a restart, none twice', async () => {
    const outage = { on: true };
    github.failNext(STATUS, Number.POSITIVE_INFINITY, { status: 503, body: { message: 'Service Unavailable' } }, () => outage.on);
    let { dfm } = await serve();
    const runs: number[] = [];
    for (const pipelineId of ['alpha', 'beta', 'alpha', 'beta']) runs.push((await triggerRun(o.pool, { pipelineId })).runId);
    for (const runId of runs) expect(await waitForRun(o.pool, runId)).toBe('success');
    // Every status is waiting, and each repository's oldest has been tried (and refused) already.
    await expect
      .poll(async () => (await o.pool.query<{ pending: number; tried: number }>(
        "select count(*) filter (where state = 'pending')::int as pending, count(distinct target) filter (where state = 'pending' and attempts > 0)::int as tried from dfm.outbox where (payload->>'runId')::bigint = any($1::bigint[])",
        [runs],
      )).rows[0], { timeout: 20_000 })
      .toEqual({ pending: 8, tried: 2 });

    dfm.kill('SIGKILL');
    await dfm.exited;
    expect((await outboxRows(runs)).every((r) => r.state === 'pending')).toBe(true);
    // A lease of the dead process would hold its repository for 60 s: age it instead of waiting
    // (the job queue's crash tests do the same).
    await o.pool.query("update dfm.outbox_target set locked_until = now() - interval '1 second' where locked_by is not null");
    outage.on = false;

    ({ dfm } = await serve());
    await expect.poll(async () => (await outboxRows(runs)).map((r) => r.state), { timeout: 20_000 }).toEqual(Array(8).fill('delivered'));
    for (const runId of runs) expect(acceptedStates(runId)).toEqual(['pending', 'success']);
    expect(acceptedTwice()).toEqual([]);
    standIn.assertNoViolations();
  });

  it('delivers every report exactly once, in order per repository, with two reporters at once', async () => {
    const { port } = await serve({ DFM_ROLE: 'reporter' });
    const first = 1_000_000;
    const perRepository = 30;
    const reports = REPOSITORIES.flatMap((name, r) =>
      Array.from({ length: perRepository }, (_, i) => {
        const runId = first + r * perRepository + i;
        return { target: `github:acme/${name}`, kind: COMMIT_STATUS_REPORT, payload: { installationId: INSTALLATION, repository: `acme/${name}`, sha: heads.get(name)!, pipelineId: name, runId, state: i % 2 === 0 ? 'running' : 'success', durationMs: i % 2 === 0 ? null : 10, failedTask: null } };
      }),
    );
    // Interleaved across repositories, as concurrent runs would write them.
    const interleaved = Array.from({ length: perRepository }, (_, i) => REPOSITORIES.map((_, r) => reports[r * perRepository + i]!)).flat();
    const runIds = interleaved.map((r) => r.payload.runId);
    await enqueueReports(o.pool, interleaved);
    const began = Date.now();
    // 15 s: with GitHub's pacing on (one write a second per process), 120 reports would take a minute.
    await expect.poll(async () => (await outboxRows(runIds)).filter((r) => r.state === 'delivered').length, { timeout: 15_000 }).toBe(runIds.length);
    const seconds = (Date.now() - began) / 1000;

    expect(acceptedTwice()).toEqual([]);
    for (const name of REPOSITORIES) {
      const order = github.statuses.filter((s) => s.repository === `acme/${name}` && runOfUrl(s.targetUrl) >= first).map((s) => runOfUrl(s.targetUrl));
      expect(order, name).toEqual(reports.filter((r) => r.payload.repository === `acme/${name}`).map((r) => r.payload.runId));
    }
    // Both processes delivered some (each drains at most 2 repositories at once).
    const delivered = async (p: number) => Number(/dfm_outbox_reports_total\{kind="github.commit-status",outcome="delivered"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text())?.[1] ?? 0);
    const servePorts = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null).map((p) => Number(/dfm is serving on http:\/\/localhost:(\d+)/.exec(p.output())![1]));
    const counts = await Promise.all(servePorts.map(delivered));
    expect(servePorts).toContain(port);
    expect(counts.every((n) => n > 0)).toBe(true);
    console.log(`two reporters: ${runIds.length} reports in ${seconds.toFixed(1)} s; delivered by each process: ${counts.join(' + ')} (the first one's count includes the 8 of the kill -9 test)`);
    standIn.assertNoViolations();

    const running = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of running) p.kill('SIGTERM');
    expect(await Promise.all(running.map((p) => p.exited))).toEqual(running.map(() => 0));
  });
});
