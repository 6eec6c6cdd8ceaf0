/**
 * The test doubles of GitHub that the sync/checks tests build on: the OpenAPI-checked REST API
 * stand-in (as a GitHub App sees it) and real git remotes (smart HTTP behind the installation
 * token, git daemon). What is asserted here is what those tests rely on.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGitHubSpec, startGitHubStandIn, type GitHubStandIn } from '../helpers/github-api-stand-in.js';
import {
  createBareRepository,
  createTempDir,
  createWorkTree,
  git,
  GitError,
  lsRemote,
  parseBasicAuth,
  removeTempDir,
  startGitDaemon,
  startGitHttpServer,
  withCredentials,
  type GitDaemon,
  type GitHttpServer,
} from '../helpers/git-remote.js';

const INSTALLATION_ID = 4242;
/** Octokit logs every error response; the tests below provoke them on purpose. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function appOctokit(github: GitHubStandIn, privateKey = github.privateKey): Octokit {
  return new Octokit({ baseUrl: github.url, log: quiet, authStrategy: createAppAuth, auth: { appId: github.appId, privateKey } });
}

function installationOctokit(github: GitHubStandIn, installationId = INSTALLATION_ID): Octokit {
  return new Octokit({ baseUrl: github.url, log: quiet, authStrategy: createAppAuth, auth: { appId: github.appId, privateKey: github.privateKey, installationId } });
}

function tokenOctokit(github: GitHubStandIn, token: string): Octokit {
  return new Octokit({ baseUrl: github.url, log: quiet, auth: token });
}

/** An app JWT with the given claims, signed with `privateKey` (RS256). */
function signJwt(claims: Record<string, unknown>, privateKey: string): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(privateKey, 'base64url')}`;
}

/** The status of a failed Octokit request (it rejects with a RequestError). */
async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
  } catch (error) {
    return (error as { status: number }).status;
  }
  throw new Error('the request succeeded');
}

describe('GitHub API stand-in', () => {
  let github: GitHubStandIn;

  beforeEach(async () => {
    github = await startGitHubStandIn();
    github.addInstallation({
      id: INSTALLATION_ID,
      account: 'acme',
      repositories: [
        { name: 'pipelines', owner: 'acme', cloneUrl: 'http://127.0.0.1:1/acme/pipelines.git' },
        { name: 'more', owner: 'acme', defaultBranch: 'trunk', cloneUrl: 'http://127.0.0.1:1/acme/more.git' },
        { name: 'third', owner: 'acme', cloneUrl: 'http://127.0.0.1:1/acme/third.git' },
      ],
    });
  });

  afterEach(async () => {
    await github.close();
  });

  it('loads GitHub’s OpenAPI description once per process, in well under 5 s', async () => {
    const { loadMs, api } = await loadGitHubSpec();
    expect(api.router.getOperations().length).toBeGreaterThan(1000);
    expect(loadMs).toBeLessThan(5000);
    // The same compiled spec for every stand-in of the process.
    expect(await loadGitHubSpec()).toBe(await loadGitHubSpec());
  });

  it('hands out a PKCS#1 private key, as GitHub does', () => {
    expect(github.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
  });

  it('authenticates the app by its JWT and issues installation tokens that expire in an hour', async () => {
    const octokit = appOctokit(github);
    const { data: app } = await octokit.rest.apps.getAuthenticated();
    expect(app?.id).toBe(github.appId);
    const { data: installations } = await octokit.rest.apps.listInstallations();
    expect(installations.map((i) => [i.id, i.account && 'login' in i.account ? i.account.login : undefined])).toEqual([[INSTALLATION_ID, 'acme']]);

    const { data: repoInstallation } = await octokit.rest.apps.getRepoInstallation({ owner: 'acme', repo: 'pipelines' });
    expect(repoInstallation.id).toBe(INSTALLATION_ID);

    const { data: created } = await octokit.rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION_ID });
    expect(created.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    const lifetime = Date.parse(created.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(59 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(60 * 60_000);
    expect(github.isValidToken(created.token, INSTALLATION_ID)).toBe(true);
    expect(github.isValidToken(created.token, INSTALLATION_ID + 1)).toBe(false);
    expect(github.tokens.get(created.token)?.installationId).toBe(INSTALLATION_ID);

    // Octokit's app auth did the same on its own: a JWT for app routes, a token for the rest.
    const auth = (await octokit.auth({ type: 'installation', installationId: INSTALLATION_ID })) as { token: string };
    expect(github.isValidToken(auth.token)).toBe(true);
    expect(github.requestsFor('apps/create-installation-access-token')[0]?.headers.authorization).toMatch(/^bearer eyJ/i);
    github.assertNoViolations();
  });

  it('lists an installation’s repositories page by page, shaped like GitHub’s', async () => {
    const octokit = installationOctokit(github);
    const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 2 });
    expect(repositories.map((r) => [r.full_name, r.clone_url, r.default_branch])).toEqual([
      ['acme/pipelines', 'http://127.0.0.1:1/acme/pipelines.git', 'main'],
      ['acme/more', 'http://127.0.0.1:1/acme/more.git', 'trunk'],
      ['acme/third', 'http://127.0.0.1:1/acme/third.git', 'main'],
    ]);
    const pages = github.requestsFor('apps/list-repos-accessible-to-installation');
    expect(pages.map((r) => r.query['page'] ?? '1')).toEqual(['1', '2']);
    expect(pages[0]?.headers.authorization).toMatch(/^token ghs_/);

    const { data: repo } = await octokit.rest.repos.get({ owner: 'ACME', repo: 'more' });
    expect([repo.full_name, repo.default_branch, repo.private]).toEqual(['acme/more', 'trunk', true]);

    // A repository taken out of the installation is GitHub's 404 (a state a test may set up, no violation).
    github.removeRepository(INSTALLATION_ID, 'more');
    expect(await statusOf(octokit.rest.repos.get({ owner: 'acme', repo: 'more' }))).toBe(404);
    github.assertNoViolations();
  });

  it('answers with bodies that conform to the spec’s response schemas', async () => {
    const octokit = installationOctokit(github);
    await octokit.rest.apps.listReposAccessibleToInstallation();
    await octokit.rest.repos.get({ owner: 'acme', repo: 'pipelines' });
    await appOctokit(github).rest.apps.getAuthenticated();
    await appOctokit(github).rest.apps.getInstallation({ installation_id: INSTALLATION_ID });
    await appOctokit(github).rest.apps.listInstallations();
    const { api } = await loadGitHubSpec();
    const answered = github.requests.filter((r) => r.operationId !== undefined && r.status < 300 && r.responseBody !== undefined);
    expect(new Set(answered.map((r) => r.operationId))).toEqual(
      new Set(['apps/create-installation-access-token', 'apps/list-repos-accessible-to-installation', 'repos/get', 'apps/get-authenticated', 'apps/get-installation', 'apps/list-installations']),
    );
    for (const request of answered) {
      const result = api.validator.validateResponse(request.responseBody, request.operationId!, request.status);
      expect(result.errors ?? [], request.operationId).toEqual([]);
    }
  });

  it('sends the response headers Octokit reads', async () => {
    const response = await installationOctokit(github).rest.repos.get({ owner: 'acme', repo: 'pipelines' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
    expect(response.headers['x-ratelimit-reset']).toMatch(/^\d+$/);
    expect(response.headers['x-github-request-id']).toBeTruthy();
  });

  it('refuses a body that does not conform with 422 and records the violation', async () => {
    const octokit = installationOctokit(github);
    // A state GitHub does not know: what a typo in dfm would send (the types catch it; JSON from elsewhere not).
    const body = { owner: 'acme', repo: 'pipelines', sha: 'a'.repeat(40), state: 'bogus' as 'error' };
    const status = await statusOf(octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', body));
    expect(status).toBe(422);
    expect(github.violations).toHaveLength(1);
    expect(github.violations[0]).toMatch(/^POST \/repos\/acme\/pipelines\/statuses\/a{40}: does not conform to repos\/create-commit-status: \/requestBody\/state must be equal to one of the allowed values/);
    expect(() => github.assertNoViolations()).toThrow(/repos\/create-commit-status/);
  });

  it('refuses an unknown query parameter as GitHub’s spec does not know it', async () => {
    const octokit = installationOctokit(github);
    expect(await statusOf(octokit.request('GET /installation/repositories', { per_page: 10, colour: 'blue' }))).toBe(422);
    expect(github.violations.join('\n')).toMatch(/apps\/list-repos-accessible-to-installation/);
  });

  it('answers an unknown route 404 and records it', async () => {
    const octokit = installationOctokit(github);
    expect(await statusOf(octokit.request('GET /repos/{owner}/{repo}/no-such-thing', { owner: 'acme', repo: 'pipelines' }))).toBe(404);
    expect(await statusOf(octokit.request('PUT /app'))).toBe(404);
    expect(github.violations).toEqual([
      "GET /repos/acme/pipelines/no-such-thing: no operation of GitHub's REST API is GET /repos/acme/pipelines/no-such-thing",
      "PUT /app: no operation of GitHub's REST API is PUT /app",
    ]);
  });

  it('answers 401 to a JWT of another key, a JWT on an installation route and an unknown or expired token', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
    expect(await statusOf(appOctokit(github, otherKey).rest.apps.getAuthenticated())).toBe(401);
    expect(github.violations.pop()).toMatch(/bad app JWT: signature does not verify/);

    const jwt = ((await appOctokit(github).auth({ type: 'app' })) as { token: string }).token;
    expect(await statusOf(tokenOctokit(github, jwt).rest.repos.get({ owner: 'acme', repo: 'pipelines' }))).toBe(401);
    expect(github.violations.pop()).toMatch(/authenticated with the app's JWT/);

    expect(await statusOf(tokenOctokit(github, 'ghs_notissuedbythisstandin000000000000').rest.repos.get({ owner: 'acme', repo: 'pipelines' }))).toBe(401);
    expect(github.violations.pop()).toMatch(/never issued/);

    const { data } = await appOctokit(github).rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION_ID });
    github.expireTokens();
    expect(github.isValidToken(data.token)).toBe(false);
    expect(await statusOf(tokenOctokit(github, data.token).rest.repos.get({ owner: 'acme', repo: 'pipelines' }))).toBe(401);
    expect(github.violations.pop()).toMatch(/expired installation token/);
    expect(github.violations).toEqual([]);
  });

  it('checks the JWT’s claims: issuer, expiry, a lifetime of at most ten minutes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ iss: github.appId + 1, iat: now - 30, exp: now + 500 }, /iss .* is not the app id/],
      [{ iss: String(github.appId), iat: now - 700, exp: now - 100 }, /expired at/],
      [{ iss: github.appId, iat: now - 30, exp: now + 600 }, /exp - iat = 630 s/],
      [{ iss: github.appId, iat: now + 300, exp: now + 600 }, /is in the future/],
    ];
    for (const [claims, reason] of cases) {
      expect(await statusOf(tokenOctokit(github, signJwt(claims, github.privateKey)).rest.apps.getAuthenticated())).toBe(401);
      expect(github.violations.pop()).toMatch(reason);
    }
    // The issuer as a string or a number, as GitHub accepts both.
    for (const iss of [github.appId, String(github.appId)]) {
      const { data } = await tokenOctokit(github, signJwt({ iss, iat: now - 30, exp: now + 570 }, github.privateKey)).rest.apps.getAuthenticated();
      expect(data?.id).toBe(github.appId);
    }
    expect(await statusOf(tokenOctokit(github, 'ghs_whatever').rest.apps.listInstallations())).toBe(401);
    expect(github.violations.pop()).toMatch(/needs the app's JWT/);
    github.assertNoViolations();
  });

  it('mocks any other valid operation from the spec, unless a test answers it', async () => {
    const octokit = installationOctokit(github);
    const created = await octokit.rest.checks.create({ owner: 'acme', repo: 'pipelines', name: 'dfm', head_sha: 'b'.repeat(40), status: 'in_progress' });
    expect(created.status).toBe(201);
    expect(created.data.id).toEqual(expect.any(Number));

    github.on('checks/create', ({ params, body, installationId }) => ({ status: 201, body: { id: 77, name: (body as { name: string }).name, repo: params['repo'], installationId } }));
    const answered = await octokit.rest.checks.create({ owner: 'acme', repo: 'pipelines', name: 'dfm', head_sha: 'b'.repeat(40) });
    expect(answered.data).toMatchObject({ id: 77, name: 'dfm', repo: 'pipelines', installationId: INSTALLATION_ID });
    expect(github.requestsFor('checks/create').map((r) => r.body)).toEqual([
      { name: 'dfm', head_sha: 'b'.repeat(40), status: 'in_progress' },
      { name: 'dfm', head_sha: 'b'.repeat(40) },
    ]);
    expect(() => github.on('checks/creat', () => ({ status: 200 }))).toThrow(/no operation checks\/creat/);
    github.assertNoViolations();
  });
});

describe('git remotes', () => {
  let root: string;
  let github: GitHubStandIn;
  let http: GitHttpServer;
  let daemon: GitDaemon;

  beforeAll(async () => {
    root = await createTempDir('dfm-git-root-');
    github = await startGitHubStandIn();
    github.addInstallation({ id: INSTALLATION_ID, account: 'acme' });
    // github.com takes an installation token as the password of user x-access-token.
    http = await startGitHttpServer({
      root,
      checkAuth: (authorization) => {
        const credentials = parseBasicAuth(authorization);
        return credentials?.username === 'x-access-token' && github.isValidToken(credentials.password, INSTALLATION_ID);
      },
    });
    daemon = await startGitDaemon({ root });
  });

  afterAll(async () => {
    await daemon?.close();
    await http?.close();
    await github?.close();
    if (root) await removeTempDir(root);
  });

  async function installationToken(): Promise<string> {
    const { data } = await appOctokit(github).rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION_ID });
    return data.token;
  }

  /** A bare repository under the servers' root with one commit on main, pushed over file://. */
  async function seededRepository(name: string): Promise<{ sha: string }> {
    const repository = await createBareRepository(root, name);
    const tree = await createWorkTree(repository.fileUrl);
    try {
      await tree.write('pipelines/orders.yaml', 'name: orders\n');
      const sha = await tree.commit('add orders');
      await tree.push();
      return { sha };
    } finally {
      await tree.close();
    }
  }

  it('creates a bare repository on main', async () => {
    const repository = await createBareRepository();
    try {
      expect((await git(['symbolic-ref', 'HEAD'], { cwd: repository.path })).trim()).toBe('refs/heads/main');
      expect(repository.fileUrl).toMatch(/^file:\/\//);
    } finally {
      await repository.remove();
    }
  });

  it('clones over smart HTTP with the installation token, and is refused 401 without it', async () => {
    const { sha } = await seededRepository('acme/pipelines.git');
    const dest = await createTempDir('dfm-clone-');
    try {
      const url = `${http.url}/acme/pipelines.git`;
      const token = await installationToken();
      const before = http.requests.length;
      await git(['clone', '--quiet', withCredentials(url, 'x-access-token', token), join(dest, 'with-token')]);
      expect((await git(['rev-parse', 'HEAD'], { cwd: join(dest, 'with-token') })).trim()).toBe(sha);
      expect(await readFile(join(dest, 'with-token', 'pipelines/orders.yaml'), 'utf8')).toBe('name: orders\n');
      const used = http.requests.slice(before);
      expect(used.some((r) => r.authorized && r.username === 'x-access-token' && r.path.includes('git-upload-pack'))).toBe(true);

      const refused = git(['clone', '--quiet', url, join(dest, 'without-token')]);
      await expect(refused).rejects.toBeInstanceOf(GitError);
      expect(http.requests.at(-1)).toMatchObject({ authorized: false, status: 401 });

      await expect(git(['clone', '--quiet', withCredentials(url, 'x-access-token', 'ghs_wrong'), join(dest, 'wrong-token')])).rejects.toThrow(/Authentication failed/);
    } finally {
      await removeTempDir(dest);
    }
  });

  it('clones over git daemon', async () => {
    const { sha } = await seededRepository('acme/daemon.git');
    const dest = await createTempDir('dfm-clone-');
    try {
      await git(['clone', '--quiet', `${daemon.url}acme/daemon.git`, dest]);
      expect((await git(['rev-parse', 'HEAD'], { cwd: dest })).trim()).toBe(sha);
    } finally {
      await removeTempDir(dest);
    }
  });

  it('pushes commits with a chosen author, message and date over HTTP, which ls-remote then shows', async () => {
    const { sha: first } = await seededRepository('acme/pushed.git');
    const remote = withCredentials(`${http.url}/acme/pushed.git`, 'x-access-token', await installationToken());
    const tree = await createWorkTree(remote);
    try {
      await tree.write('pipelines/payments.yaml', 'name: payments\n');
      const second = await tree.commit('add payments\n\nwith a body', { author: { name: 'Ada Lovelace', email: 'ada@example.com' }, date: '2025-03-01T12:00:00Z' });
      await tree.push();
      await tree.checkout('feature', { create: true });
      await tree.remove('pipelines/orders.yaml');
      const third = await tree.commit('drop orders');
      await tree.push('feature');

      const refs = await lsRemote(remote);
      expect(refs.get('refs/heads/main')).toBe(second);
      expect(refs.get('refs/heads/feature')).toBe(third);
      expect(second).not.toBe(first);
      const log = await git(['log', '-1', '--format=%an|%ae|%aI|%s|%b', second], { cwd: tree.dir });
      expect(log.trim()).toBe('Ada Lovelace|ada@example.com|2025-03-01T12:00:00+00:00|add payments|with a body');

      // A force push rewrites main.
      await tree.push('main', { force: true });
      expect((await lsRemote(remote)).get('refs/heads/main')).toBe(third);
    } finally {
      await tree.close();
    }
  });

  it('takes gzip request bodies (git compresses those over 1 KiB, e.g. a fetch of many branches)', async () => {
    const repository = await createBareRepository(root, 'acme/branches.git');
    const tree = await createWorkTree(repository.fileUrl);
    const dest = await createTempDir('dfm-clone-');
    try {
      await tree.commit('root', { allowEmpty: true });
      await tree.push();
      for (let i = 0; i < 40; i++) {
        await tree.checkout(`branch-${i}`, { create: true });
        await tree.commit(`commit ${i}`, { allowEmpty: true });
      }
      await tree.git('push', '--quiet', 'origin', '--all');
      const before = http.requests.length;
      await git(['clone', '--quiet', '--mirror', withCredentials(`${http.url}/acme/branches.git`, 'x-access-token', await installationToken()), dest]);
      expect(http.requests.slice(before).some((r) => r.contentEncoding === 'gzip' && r.status === 200)).toBe(true);
      expect([...(await lsRemote(dest)).keys()].filter((ref) => ref.startsWith('refs/heads/branch-'))).toHaveLength(40);
    } finally {
      await tree.close();
      await removeTempDir(dest);
    }
  });

  it('lets the API stand-in point a repository’s clone_url at the git server', async () => {
    await seededRepository('acme/listed.git');
    github.addRepository(INSTALLATION_ID, { name: 'listed', owner: 'acme', cloneUrl: `${http.url}/acme/listed.git` });
    const octokit = installationOctokit(github);
    const { data } = await octokit.rest.apps.listReposAccessibleToInstallation();
    const { token } = (await octokit.auth({ type: 'installation' })) as { token: string };
    const listed = data.repositories.find((r) => r.full_name === 'acme/listed');
    expect(listed).toBeDefined();
    expect((await lsRemote(withCredentials(listed!.clone_url, 'x-access-token', token))).has('refs/heads/main')).toBe(true);
    github.assertNoViolations();
  });
});
