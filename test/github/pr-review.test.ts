/**
 * Pull-request review end to end on loopback (issue 15): dfm as a GitHub App against the strict
 * stand-in (every request checked against GitHub's OpenAPI description), webhook payloads from
 * @octokit/webhooks-examples signed as GitHub signs them, and a real Git remote over smart HTTP
 * whose `refs/pull/<n>/head` the test pushes like GitHub does. What a reviewer sees is read back
 * from the stand-in's state: check runs with their annotations, the PR comments, reactions and
 * commit statuses.
 */
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { serviceRoles } from '../../src/service/service-roles.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitHttpServer, type GitHttpServer, type WorkTree } from '../helpers/git-remote.js';
import { startGitHubStandIn, type GitHubStandIn } from '../helpers/github-api-stand-in.js';
import { trackGitHubState, type GitHubState } from '../helpers/github-state.js';
import { eventually } from '../helpers/dfm-process.js';
import { testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';

const WEBHOOK_SECRET = 'a webhook secret for the PR tests';
const INSTALLATION = 5151;
const REPO = 'acme/widgets';
const PROD_URL = 'postgres://prod-user:s3cr3t-pr0d@127.0.0.1:5432/production';
const { o, database } = useOrchestration();
let standIn: GitHubStandIn;
let github: GitHubState;
let gitRoot: string;
let dataDir: string;
let http: GitHttpServer;
let work: WorkTree;
let service: RunningService;
let base: string;
let mainSha: string;

const sqlPipeline = (id: string, sql = 'select 1', schedule?: string) => `id: ${id}\n${schedule ? `schedule: "${schedule}"\ntimezone: Europe/Paris\n` : ''}tasks:\n  only: { type: postgres.sql, sql: "${sql}" }\n`;

function example(event: string, pick: (payload: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const found = (examples as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === event)!.examples.find(pick)!;
  return structuredClone(found);
}

const repository = () => ({ name: 'widgets', full_name: REPO, default_branch: 'main', clone_url: `https://github.com/${REPO}.git`, owner: { login: 'acme' } });

function pullRequestPayload(action: string, pr: { number: number; head: string; base: string; fork?: string }): Record<string, unknown> {
  const payload = example('pull_request', (p) => p.action === 'opened');
  const pull = payload.pull_request as Record<string, unknown>;
  const head = pull.head as Record<string, unknown>;
  const baseRef = pull.base as Record<string, unknown>;
  Object.assign(pull, { number: pr.number });
  Object.assign(head, { sha: pr.head, ref: `feature-${pr.number}`, repo: { ...(head.repo as object), full_name: pr.fork ?? REPO } });
  Object.assign(baseRef, { sha: pr.base, ref: 'main', repo: { ...(baseRef.repo as object), ...repository() } });
  Object.assign(payload.repository as Record<string, unknown>, repository());
  return { ...payload, action, number: pr.number, installation: { id: INSTALLATION, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNTE1MQ==' } };
}

function commentPayload(prNumber: number, body: string, login: string): Record<string, unknown> {
  const payload = example('issue_comment', (p) => p.action === 'created');
  Object.assign(payload.issue as Record<string, unknown>, { number: prNumber, pull_request: { url: `https://api.github.com/repos/${REPO}/pulls/${prNumber}` } });
  Object.assign(payload.comment as Record<string, unknown>, { id: 900_000 + Math.floor(Math.random() * 99_999), body, user: { ...((payload.comment as Record<string, unknown>).user as object), login, id: login.length * 1000, type: 'User' } });
  Object.assign(payload.repository as Record<string, unknown>, repository());
  return { ...payload, installation: { id: INSTALLATION, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNTE1MQ==' } };
}

async function deliver(event: string, payload: unknown): Promise<Response> {
  const body = JSON.stringify(payload);
  const headers = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/test', 'x-hub-signature-256': await sign(WEBHOOK_SECRET, body) };
  const response = await fetch(`${base}/api/github/webhooks`, { method: 'POST', headers, body });
  expect(response.status).toBe(200);
  return response;
}

/** A commit on a branch from main, pushed where GitHub keeps a PR's head (`refs/pull/<n>/head`). */
async function pushPullRequest(number: number, change: (tree: WorkTree) => Promise<void>, options: { from?: string } = {}): Promise<string> {
  await work.git('checkout', '--quiet', '-B', `feature-${number}`, options.from ?? mainSha);
  await change(work);
  const head = await work.commit(`PR ${number}`);
  await work.git('push', '--quiet', '--force', 'origin', `HEAD:refs/pull/${number}/head`);
  github.pulls.set(`${REPO}#${number}`, { number, headSha: head, headRef: `feature-${number}`, headRepository: REPO, baseSha: mainSha, baseRef: 'main' });
  return head;
}

const completed = async (head: string) => {
  const runs = github.checkRunsFor(head);
  return runs.length > 0 && runs.every((r) => r.status === 'completed') ? runs : undefined;
};

beforeAll(async () => {
  standIn = await startGitHubStandIn();
  github = trackGitHubState(standIn);
  gitRoot = await createTempDir('dfm-pr-git-');
  dataDir = await createTempDir('dfm-pr-data-');
  http = await startGitHttpServer({
    root: gitRoot,
    checkAuth: (header) => {
      const credentials = parseBasicAuth(header);
      return credentials?.username === 'x-access-token' && standIn.isValidToken(credentials.password, INSTALLATION);
    },
  });
  const repo = await createBareRepository(gitRoot, `${REPO}.git`);
  work = await createWorkTree(repo.fileUrl);
  await work.write('pipelines/widgets.yaml', sqlPipeline('widgets', 'select 1', '0 * * * *'));
  await work.write('pipelines/gadgets.yaml', sqlPipeline('gadgets'));
  await work.write('pipelines/fails.yaml', 'id: fails\ntasks:\n  divide: { type: postgres.sql, sql: "select 1/0" }\n');
  mainSha = await work.commit('Three pipelines');
  await work.push();
  standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [{ name: 'widgets', owner: 'acme', cloneUrl: `${http.url}/${REPO}.git` }] });
  github.permissions.set('octocat-writer', 'write');
  github.permissions.set('visitor', 'read');

  const config = loadConfig({
    DATABASE_URL: database.url,
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    APP_ID: String(standIn.appId),
    PRIVATE_KEY: standIn.privateKey,
    WEBHOOK_SECRET,
    GITHUB_API_URL: standIn.url,
    DFM_GITHUB_THROTTLE: 'false',
    DFM_PUBLIC_URL: 'https://dfm.example.com',
    DFM_POSTGRES_PROD_URL: PROD_URL,
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_POLL_INTERVAL_MS: '300',
    DFM_DATA_DIR: dataDir,
  });
  service = await startService({ config, logger: testLogger, role: 'all', roles: serviceRoles });
  base = `http://127.0.0.1:${service.port}`;
  await eventually(async () => ((await o.pool.query('select active_sha from dfm.sync_source where id = $1', [`github:${REPO}`])).rows[0]?.active_sha === mainSha ? true : undefined), 30_000, 'the first sync');
});
afterAll(async () => {
  await service?.stop();
  await work?.close();
  await http?.close();
  await standIn?.close();
  await removeTempDir(gitRoot);
  await removeTempDir(dataDir);
});

describe('pull-request review', () => {
  it('fails the check run of broken YAML with annotations at the file, line and column', async () => {
    const head = await pushPullRequest(1, (t) => t.write('pipelines/payments.yaml', 'id: payments\ntasks:\n  only: { type: postgres.sqll, sql: "select 1" }\n'));
    await deliver('pull_request', pullRequestPayload('opened', { number: 1, head, base: mainSha }));
    await expect.poll(() => completed(head), { timeout: 20_000 }).toBeDefined();
    const run = github.checkRunsFor(head)[0];
    expect(run).toMatchObject({ name: 'dfm', conclusion: 'failure', headSha: head });
    // It was created in progress first, then completed.
    expect(run!.requests[0]).toMatchObject({ status: 'in_progress', head_sha: head });
    expect(run!.annotations).toEqual([
      expect.objectContaining({ path: 'pipelines/payments.yaml', start_line: 3, end_line: 3, start_column: 17, annotation_level: 'failure', title: expect.stringContaining('unknown-task-type') }),
    ]);
    expect(run!.annotations[0]!['message']).toMatch(/postgres\.sql/);
    standIn.assertNoViolations();
  });

  it('sends 120 diagnostics as three annotation batches', async () => {
    const tasks = Array.from({ length: 120 }, (_, i) => `  t${i}: { type: postgres.sqll, sql: "select ${i}" }`).join('\n');
    const head = await pushPullRequest(2, (t) => t.write('pipelines/many.yaml', `id: many\ntasks:\n${tasks}\n`));
    await deliver('pull_request', pullRequestPayload('opened', { number: 2, head, base: mainSha }));
    await expect.poll(() => completed(head), { timeout: 20_000 }).toBeDefined();
    const run = github.checkRunsFor(head)[0]!;
    const batches = run.requests.map((r) => ((r['output'] as { annotations?: unknown[] } | undefined)?.annotations ?? []).length).filter((n) => n > 0);
    expect(batches).toEqual([50, 50, 20]);
    expect(run.annotations).toHaveLength(120);
    expect(run.conclusion).toBe('failure');
    // Completed only with the last batch: never a finished check with half its annotations.
    expect(run.requests.at(-1)).toMatchObject({ conclusion: 'failure' });
    standIn.assertNoViolations();
  });

  it('passes a valid change with the plan (fire times in the timezone, the DAG in Mermaid) as summary and comment', async () => {
    const head = await pushPullRequest(3, (t) => t.write('pipelines/widgets.yaml', sqlPipeline('widgets', 'select 2', '30 6 * * *')));
    await deliver('pull_request', pullRequestPayload('opened', { number: 3, head, base: mainSha }));
    await expect.poll(() => completed(head), { timeout: 20_000 }).toBeDefined();
    const run = github.checkRunsFor(head)[0]!;
    expect(run.conclusion).toBe('success');
    expect(run.summary).toContain('widgets');
    expect(run.summary).toContain('```mermaid');
    expect(run.summary).toMatch(/06:30:00\+0[12]:00/);
    expect(run.detailsUrl).toBe('https://dfm.example.com/');
    await expect.poll(() => github.commentsOn(3).length, { timeout: 10_000 }).toBe(1);
    expect(github.commentsOn(3)[0]!.body).toContain('<!-- dfm-plan -->');
    expect(github.commentsOn(3)[0]!.body).toContain(head.slice(0, 7));
    standIn.assertNoViolations();
  });

  it('is neutral when no pipeline file changed', async () => {
    const head = await pushPullRequest(4, (t) => t.write('README.md', 'docs only\n'));
    await deliver('pull_request', pullRequestPayload('opened', { number: 4, head, base: mainSha }));
    await expect.poll(() => completed(head), { timeout: 20_000 }).toBeDefined();
    expect(github.checkRunsFor(head)[0]!.conclusion).toBe('neutral');
  });

  it('keeps one comment, edited in place, over two pushes processed at once; the older check run does not stay in progress', async () => {
    const first = await pushPullRequest(5, (t) => t.write('pipelines/gadgets.yaml', sqlPipeline('gadgets', 'select 10')));
    await deliver('pull_request', pullRequestPayload('opened', { number: 5, head: first, base: mainSha }));
    const second = await pushPullRequest(5, (t) => t.write('pipelines/gadgets.yaml', sqlPipeline('gadgets', 'select 20')), { from: first });
    await Promise.all([
      deliver('pull_request', pullRequestPayload('synchronize', { number: 5, head: second, base: mainSha })),
      deliver('check_suite', { ...checkSuitePayload(second, 5), action: 'requested' }),
    ]);
    await expect.poll(() => completed(second), { timeout: 20_000 }).toBeDefined();
    await expect.poll(() => github.checkRunsFor(first).every((r) => r.status === 'completed'), { timeout: 10_000 }).toBe(true);
    expect(github.checkRunsFor(first).every((r) => ['cancelled', 'success', 'skipped'].includes(r.conclusion ?? ''))).toBe(true);
    // One check run for the second head, though pull_request.synchronize and check_suite.requested both asked.
    expect(github.checkRunsFor(second)).toHaveLength(1);
    await expect.poll(() => github.commentsOn(5)[0]?.body.includes(second.slice(0, 7)), { timeout: 10_000 }).toBe(true);
    expect(github.commentsOn(5)).toHaveLength(1);
    standIn.assertNoViolations();
  });

  it('re-runs /dfm plan for a user with write access (👀), and refuses one without', async () => {
    const head = github.pulls.get(`${REPO}#3`)!.headSha;
    const before = github.checkRunsFor(head).length;
    const refusedBefore = github.comments.length;
    await deliver('issue_comment', commentPayload(3, 'please\n/dfm plan', 'visitor'));
    await expect.poll(() => github.comments.length, { timeout: 10_000 }).toBe(refusedBefore + 1);
    expect(github.comments.at(-1)!.body).toBe('Sorry @visitor, only people with write access to acme/widgets can run `/dfm` commands.');
    expect(github.checkRunsFor(head)).toHaveLength(before);

    const command = commentPayload(3, '/dfm plan', 'octocat-writer');
    await deliver('issue_comment', command);
    await expect.poll(() => github.checkRunsFor(head).length, { timeout: 20_000 }).toBe(before + 1);
    await expect.poll(() => github.checkRunsFor(head).at(-1)!.conclusion, { timeout: 20_000 }).toBe('success');
    expect(github.reactions).toContainEqual({ repository: REPO, commentId: (command.comment as { id: number }).id, content: 'eyes' });
    expect(github.reactions.filter((r) => r.content === 'eyes')).toHaveLength(1);
    const audit = await o.pool.query("select actor, outcome from dfm.audit where via = 'github' order by id");
    expect(audit.rows.map((r) => r.outcome)).toEqual(['refused', 'ok']);
    standIn.assertNoViolations();
  });

  it('answers /dfm help and an unknown command with the help text', async () => {
    const before = github.comments.length;
    await deliver('issue_comment', commentPayload(3, '/dfm plna', 'octocat-writer'));
    await expect.poll(() => github.comments.length, { timeout: 10_000 }).toBe(before + 1);
    expect(github.comments.at(-1)!.body).toMatch(/did you mean `\/dfm plan`/);
    expect(github.comments.at(-1)!.body).toContain('/dfm validate');
  });

  it('reviews a fork pull request that points a task at a production connection, and runs nothing of it', async () => {
    const runsBefore = (await o.pool.query('select count(*)::int as n from dfm.run')).rows[0].n;
    const versionsBefore = (await o.pool.query('select count(*)::int as n from dfm.pipeline_version')).rows[0].n;
    const head = await pushPullRequest(6, (t) => t.write('pipelines/widgets.yaml', 'id: widgets\nschedule: "* * * * *"\ntasks:\n  only: { type: postgres.sql, connection: prod, sql: "drop table customers" }\n  bad: { type: postgres.sql, connection: nowhere, sql: "select :missing" }\n'));
    github.pulls.set(`${REPO}#6`, { ...github.pulls.get(`${REPO}#6`)!, headRepository: 'mallory/widgets' });
    await deliver('pull_request', pullRequestPayload('opened', { number: 6, head, base: mainSha, fork: 'mallory/widgets' }));
    await expect.poll(() => completed(head), { timeout: 20_000 }).toBeDefined();
    await expect.poll(() => github.commentsOn(6).length, { timeout: 10_000 }).toBe(1);
    const seen = JSON.stringify({ checks: github.checkRunsFor(head), comments: github.commentsOn(6) });
    expect(seen).not.toContain('s3cr3t');
    expect(seen).not.toContain('prod-user');
    expect(seen).not.toContain('/production');
    // Nothing of the fork became a version or a run.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await o.pool.query('select count(*)::int as n from dfm.run')).rows[0].n).toBe(runsBefore);
    expect((await o.pool.query('select count(*)::int as n from dfm.pipeline_version')).rows[0].n).toBe(versionsBefore);
    expect((await o.pool.query('select count(*)::int as n from dfm.pipeline_version where source_ref = $1', [head])).rows[0].n).toBe(0);
    expect((await o.pool.query('select from_fork from dfm.pr_review where head_sha = $1', [head])).rows[0]).toEqual({ from_fork: true });
  });
});

describe('commit statuses', () => {
  it('posts pending then success on the commit of a run, with the dashboard link', async () => {
    const { runId } = await triggerRun(o.pool, { pipelineId: 'gadgets', requestedBy: 'test' });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    await expect.poll(() => github.statuses.filter((s) => s.context === 'dfm/gadgets').map((s) => s.state), { timeout: 15_000 }).toEqual(['pending', 'success']);
    const [pending, success] = github.statuses.filter((s) => s.context === 'dfm/gadgets');
    expect(pending).toMatchObject({ repository: REPO, sha: mainSha, targetUrl: `https://dfm.example.com/runs/${runId}` });
    expect(success!.description).toMatch(/^Succeeded in /);
    standIn.assertNoViolations();
  });

  it('posts failure naming the failed task', async () => {
    const { runId } = await triggerRun(o.pool, { pipelineId: 'fails', requestedBy: 'test' });
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    await expect.poll(() => github.statuses.filter((s) => s.context === 'dfm/fails').map((s) => s.state), { timeout: 60_000 }).toEqual(['pending', 'failure']);
    const failure = github.statuses.filter((s) => s.context === 'dfm/fails')[1]!;
    expect(failure.description).toContain('divide');
    expect(failure.description).toMatch(/division by zero/);
    expect(failure.description!.length).toBeLessThanOrEqual(140);
  });
});

describe('guarded prune from a PR comment', () => {
  it('releases a held prune with /dfm confirm-prune', async () => {
    await work.git('checkout', '--quiet', '-B', 'main', mainSha);
    await work.remove('pipelines');
    await work.write('README.md', 'no pipelines\n');
    const empty = await work.commit('Remove every pipeline');
    await work.push();
    const push = example('push');
    Object.assign(push.repository as Record<string, unknown>, repository());
    await deliver('push', { ...push, ref: 'refs/heads/main', before: mainSha, after: empty, deleted: false, installation: { id: INSTALLATION, node_id: 'x' } });
    await expect.poll(async () => (await o.pool.query('select held_prune is not null as held from dfm.sync_source where id = $1', [`github:${REPO}`])).rows[0].held, { timeout: 20_000 }).toBe(true);

    await deliver('issue_comment', commentPayload(3, '/dfm confirm-prune', 'octocat-writer'));
    await expect.poll(async () => (await o.pool.query('select active_sha from dfm.sync_source where id = $1', [`github:${REPO}`])).rows[0].active_sha, { timeout: 20_000 }).toBe(empty);
    const paused = await o.pool.query("select id from dfm.pipeline where source_id = $1 and paused order by id", [`github:${REPO}`]);
    expect(paused.rows.map((r) => r.id)).toEqual(['fails', 'gadgets', 'widgets']);
    await expect.poll(() => github.commentsOn(3).at(-1)!.body, { timeout: 10_000 }).toMatch(/^Confirmed: /);
    const audit = await o.pool.query("select actor, target, outcome from dfm.audit where action = 'confirm-prune'");
    expect(audit.rows).toEqual([{ actor: expect.stringMatching(/^github:/), target: empty, outcome: 'ok' }]);
    standIn.assertNoViolations();
  });
});

function checkSuitePayload(head: string, prNumber: number): Record<string, unknown> {
  const payload = example('check_suite', (p) => p.action === 'requested' || p.action === 'completed');
  const suite = payload.check_suite as Record<string, unknown>;
  Object.assign(suite, { head_sha: head, pull_requests: [{ number: prNumber, head: { sha: head, ref: `feature-${prNumber}`, repo: { full_name: REPO } }, base: { sha: mainSha, ref: 'main', repo: { full_name: REPO } } }] });
  Object.assign(payload.repository as Record<string, unknown>, repository());
  return { ...payload, installation: { id: INSTALLATION, node_id: 'x' } };
}
