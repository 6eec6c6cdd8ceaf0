/**
 * dfm as a GitHub App, end to end on loopback: the installation's repositories (read from a strict
 * GitHub API stand-in) become sync sources fetched over smart HTTP with an installation token; a
 * push webhook (a real @octokit/webhooks-examples payload, signed as GitHub signs it) makes the new
 * commit active; forged, missing, malformed and short signatures are refused with nothing stored;
 * ten concurrent copies of one delivery make one sync; unknown events are a recorded no-op;
 * installation_repositories adds a source; the generic signed webhook and GET /api/sync work.
 */
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { serviceRoles } from '../../src/service/service-roles.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitHttpServer, type GitHttpServer, type WorkTree } from '../helpers/git-remote.js';
import { startGitHubStandIn, type GitHubStandIn } from '../helpers/github-api-stand-in.js';
import { testLogger, useOrchestration } from '../helpers/orchestration.js';

const WEBHOOK_SECRET = 'a webhook secret for the tests';
const SYNC_SECRET = 'a sync secret for the tests';
const INSTALLATION = 4242;
const { o, database } = useOrchestration();
let standIn: GitHubStandIn;
let gitRoot: string;
let dataDir: string;
let http: GitHttpServer;
let widgets: WorkTree;
let service: RunningService;
let base: string;

const pipeline = (id: string, sql = 'select 1') => `id: ${id}\ntasks:\n  only: { type: postgres.sql, sql: "${sql}" }\n`;

function example(event: string, pick: (payload: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const found = (examples as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === event)!.examples.find(pick)!;
  return structuredClone(found);
}

function pushPayload(repo: string, after: string, before: string): Record<string, unknown> {
  const payload = example('push');
  const repository = payload.repository as Record<string, unknown>;
  Object.assign(repository, { name: repo, full_name: `acme/${repo}`, default_branch: 'main', master_branch: 'main', clone_url: `https://github.com/acme/${repo}.git` });
  (repository.owner as Record<string, unknown>).login = 'acme';
  return { ...payload, ref: 'refs/heads/main', before, after, deleted: false, installation: { id: INSTALLATION, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==' } };
}

async function deliver(event: string, payload: unknown, options: { id?: string; signature?: string | null; secret?: string } = {}): Promise<Response> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': options.id ?? randomUUID(), 'user-agent': 'GitHub-Hookshot/test' };
  const signature = options.signature === undefined ? await sign(options.secret ?? WEBHOOK_SECRET, body) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(`${base}/api/github/webhooks`, { method: 'POST', headers, body });
}

const activeSha = async (source: string) => (await o.pool.query<{ active_sha: string | null }>('select active_sha from dfm.sync_source where id = $1', [source])).rows[0]?.active_sha ?? null;
const count = async (sql: string, params: unknown[] = []) => (await o.pool.query<{ n: number }>(`select count(*)::int as n from ${sql}`, params)).rows[0]!.n;

beforeAll(async () => {
  standIn = await startGitHubStandIn();
  gitRoot = await createTempDir('dfm-github-git-');
  dataDir = await createTempDir('dfm-github-data-');
  http = await startGitHttpServer({
    root: gitRoot,
    checkAuth: (header) => {
      const credentials = parseBasicAuth(header);
      return credentials?.username === 'x-access-token' && standIn.isValidToken(credentials.password, INSTALLATION);
    },
  });
  const repo = await createBareRepository(gitRoot, 'acme/widgets.git');
  widgets = await createWorkTree(repo.fileUrl);
  await widgets.write('pipelines/widgets.yaml', pipeline('widgets'));
  await widgets.commit('Add widgets');
  await widgets.push();
  standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [{ name: 'widgets', owner: 'acme', cloneUrl: `${http.url}/acme/widgets.git` }] });

  const config = loadConfig({
    DATABASE_URL: database.url,
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    APP_ID: String(standIn.appId),
    PRIVATE_KEY: standIn.privateKey,
    WEBHOOK_SECRET,
    GITHUB_API_URL: standIn.url,
    DFM_SYNC_SECRET: SYNC_SECRET,
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_POLL_INTERVAL_MS: '300',
    DFM_DATA_DIR: dataDir,
  });
  service = await startService({ config, logger: testLogger, role: 'all', roles: serviceRoles });
  base = `http://127.0.0.1:${service.port}`;
});
afterAll(async () => {
  await service?.stop();
  await widgets?.close();
  await http?.close();
  await standIn?.close();
  await removeTempDir(gitRoot);
  await removeTempDir(dataDir);
});

describe('the GitHub App', () => {
  it("syncs the installation's repositories at start, fetched with an installation token", async () => {
    const head = (await widgets.git('rev-parse', 'HEAD')).trim();
    await expect.poll(() => activeSha('github:acme/widgets'), { timeout: 20_000 }).toBe(head);
    expect(standIn.requestsFor('apps/create-installation-access-token').length).toBeGreaterThan(0);
    expect(standIn.requestsFor('apps/list-repos-accessible-to-installation').length).toBeGreaterThan(0);
    const fetched = http.requests.filter((r) => r.status === 200);
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.every((r) => r.authorized && r.username === 'x-access-token')).toBe(true);
    standIn.assertNoViolations();
  });

  it('makes a pushed commit active from the push webhook, and records the delivery', async () => {
    const before = (await widgets.git('rev-parse', 'HEAD')).trim();
    await widgets.write('pipelines/widgets.yaml', pipeline('widgets', 'select 2'));
    const after = await widgets.commit('Change widgets');
    await widgets.push();
    const id = randomUUID();
    const response = await deliver('push', pushPayload('widgets', after, before), { id });
    expect(response.status).toBe(200);
    await expect.poll(() => activeSha('github:acme/widgets'), { timeout: 10_000 }).toBe(after);
    await expect.poll(async () => (await o.pool.query('select event, repository, outcome from dfm.webhook_delivery where delivery_id = $1', [id])).rows[0], { timeout: 5000 }).toEqual({ event: 'push', repository: 'acme/widgets', outcome: 'handled' });
    const version = await o.pool.query("select v.source_ref, v.commit_message from dfm.pipeline p join dfm.pipeline_version v on v.id = p.active_version_id where p.id = 'widgets'");
    expect(version.rows[0]).toEqual({ source_ref: after, commit_message: 'Change widgets' });
    standIn.assertNoViolations();
  });

  it('refuses forged, missing, malformed and short signatures with a 4xx, storing and fetching nothing', async () => {
    const deliveriesBefore = await count('dfm.webhook_delivery');
    const jobsBefore = await count('dfm.job');
    const fetchesBefore = http.requests.length;
    const payload = pushPayload('widgets', 'a'.repeat(40), 'b'.repeat(40));
    const body = JSON.stringify(payload);
    const attempts = [
      { what: 'forged', signature: await sign('not the secret', body) },
      { what: 'missing', signature: null },
      { what: 'malformed', signature: 'sha256=not-hex-at-all' },
      { what: 'short', signature: (await sign(WEBHOOK_SECRET, body)).slice(0, 20) },
      { what: 'sha1 only', signature: 'sha1=0123456789abcdef0123456789abcdef01234567' },
    ];
    for (const attempt of attempts) {
      const response = await deliver('push', payload, { signature: attempt.signature });
      expect(response.status, attempt.what).toBeGreaterThanOrEqual(400);
      expect(response.status, attempt.what).toBeLessThan(500);
    }
    expect(await count('dfm.webhook_delivery')).toBe(deliveriesBefore);
    expect(await count('dfm.job')).toBe(jobsBefore);
    expect(http.requests.length).toBe(fetchesBefore);
  });

  it("answers as probot did: 415 for another content type, 400 for a missing header and for a signed body that is not JSON, storing nothing", async () => {
    const deliveriesBefore = await count('dfm.webhook_delivery');
    const body = JSON.stringify(example('ping'));
    const headers = async (text: string) => ({ 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await sign(WEBHOOK_SECRET, text) });
    const post = async (text: string, h: Record<string, string>, path = '/api/github/webhooks') => (await fetch(`${base}${path}`, { method: 'POST', headers: h, body: text })).status;
    expect(await post(body, { ...(await headers(body)), 'content-type': 'application/x-www-form-urlencoded' })).toBe(415);
    const { 'x-github-delivery': _omitted, ...withoutDelivery } = await headers(body);
    expect(await post(body, withoutDelivery)).toBe(400);
    expect(await post('{"zen": not json', await headers('{"zen": not json'))).toBe(400);
    expect(await count('dfm.webhook_delivery')).toBe(deliveriesBefore);
    // A query string does not change the endpoint (probot compared the path alone).
    expect(await post(body, await headers(body), '/api/github/webhooks?from=test')).toBe(200);
    expect(await count('dfm.webhook_delivery')).toBe(deliveriesBefore + 1);
  });

  it('makes one sync of ten concurrent copies of one delivery', async () => {
    const before = (await widgets.git('rev-parse', 'HEAD')).trim();
    await widgets.write('pipelines/widgets.yaml', pipeline('widgets', 'select 3'));
    const after = await widgets.commit('Change widgets again');
    await widgets.push();
    const id = randomUUID();
    const payload = pushPayload('widgets', after, before);
    const responses = await Promise.all(Array.from({ length: 10 }, () => deliver('push', payload, { id })));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    await expect.poll(() => activeSha('github:acme/widgets'), { timeout: 10_000 }).toBe(after);
    expect(await count('dfm.webhook_delivery where delivery_id = $1', [id])).toBe(1);
    expect(await count("dfm.job where kind = 'github-event' and key = $1", [`delivery:${id}`])).toBe(1);
    expect(await count('dfm.sync where sha = $1', [after])).toBe(1);
    // A manual redelivery (same id) later changes nothing either.
    expect((await deliver('push', payload, { id })).status).toBe(200);
    expect(await count("dfm.job where kind = 'github-event' and key = $1", [`delivery:${id}`])).toBe(1);
    // Another delivery of the now active commit is handled without a sync job.
    const again = randomUUID();
    expect((await deliver('push', payload, { id: again })).status).toBe(200);
    await expect.poll(async () => (await o.pool.query('select outcome from dfm.webhook_delivery where delivery_id = $1', [again])).rows[0]?.outcome, { timeout: 5000 }).toBe('handled');
    expect(await count("dfm.job where kind = 'sync' and payload->>'sha' = $1", [after])).toBe(1);
  });

  it('acknowledges an event dfm does nothing with, records it as ignored and queues no job', async () => {
    const id = randomUUID();
    const jobsBefore = await count('dfm.job');
    const response = await deliver('star', example('star'), { id });
    expect(response.status).toBe(200);
    expect((await o.pool.query('select event, outcome from dfm.webhook_delivery where delivery_id = $1', [id])).rows[0]).toEqual({ event: 'star', outcome: 'ignored' });
    expect(await count('dfm.job')).toBe(jobsBefore);
  });

  it('adds a repository added to the installation as a source and syncs it', async () => {
    const repo = await createBareRepository(gitRoot, 'acme/gadgets.git');
    const gadgets = await createWorkTree(repo.fileUrl);
    try {
      await gadgets.write('pipelines/gadgets.yaml', pipeline('gadgets'));
      const head = await gadgets.commit('Add gadgets');
      await gadgets.push();
      standIn.addRepository(INSTALLATION, { name: 'gadgets', owner: 'acme', cloneUrl: `${http.url}/acme/gadgets.git` });
      const payload = example('installation_repositories', (p) => p.action === 'added');
      payload.installation = { ...(payload.installation as object), id: INSTALLATION };
      expect((await deliver('installation_repositories', payload)).status).toBe(200);
      await expect.poll(() => activeSha('github:acme/gadgets'), { timeout: 15_000 }).toBe(head);
      expect((await o.pool.query("select source_id from dfm.pipeline where id = 'gadgets'")).rows[0].source_id).toBe('github:acme/gadgets');

      standIn.removeRepository(INSTALLATION, 'gadgets');
      const removed = example('installation_repositories', (p) => p.action === 'removed');
      removed.installation = { ...(removed.installation as object), id: INSTALLATION };
      expect((await deliver('installation_repositories', removed)).status).toBe(200);
      await expect.poll(async () => (await o.pool.query("select enabled from dfm.sync_source where id = 'github:acme/gadgets'")).rows[0].enabled, { timeout: 10_000 }).toBe(false);
      standIn.assertNoViolations();
    } finally {
      await gadgets.close();
    }
  });
});

describe('the generic sync webhook and the status API', () => {
  const post = (body: string, signature?: string) =>
    fetch(`${base}/api/sync`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-dfm-signature-256': signature }) }, body });

  it('syncs on a correctly signed POST /api/sync and refuses a bad or missing signature', async () => {
    await widgets.write('pipelines/widgets.yaml', pipeline('widgets', 'select 4'));
    const after = await widgets.commit('Change widgets for the generic hook');
    await widgets.push();
    const body = JSON.stringify({ source: 'github:acme/widgets', sha: after });
    expect((await post(body)).status).toBe(400);
    expect((await post(body, await sign('wrong secret', body))).status).toBe(401);
    expect(await count('dfm.sync where sha = $1', [after])).toBe(0);
    const accepted = await post(body, await sign(SYNC_SECRET, body));
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ jobs: [{ source: 'github:acme/widgets', job: expect.any(Number), queued: true }] });
    await expect.poll(() => activeSha('github:acme/widgets'), { timeout: 10_000 }).toBe(after);
  });

  it('GET /api/sync shows each source: active commit, last sync, no held prune', async () => {
    const response = await fetch(`${base}/api/sync`);
    expect(response.status).toBe(200);
    const { sources } = (await response.json()) as { sources: { id: string; active: { sha: string; commit: { message: string } }; lastSync: { outcome: string; durationMs: number }; heldPrune: unknown }[] };
    const widgetsSource = sources.find((s) => s.id === 'github:acme/widgets')!;
    expect(widgetsSource.active.commit.message).toBe('Change widgets for the generic hook');
    expect(widgetsSource.lastSync).toMatchObject({ outcome: 'applied', durationMs: expect.any(Number) });
    expect(widgetsSource.heldPrune).toBeNull();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/dfm_webhook_deliveries_total\{event="push",outcome="queued"\} \d+/);
    expect(metrics).toMatch(/dfm_webhook_deliveries_total\{event="push",outcome="rejected"\} 5/);
    expect(metrics).toMatch(/dfm_syncs_total\{source="github:acme\/widgets",outcome="applied"\} \d+/);
    expect(metrics).toMatch(/dfm_sync_last_success_timestamp_seconds\{source="github:acme\/widgets"\} \d+/);
    standIn.assertNoViolations();
  });
});
