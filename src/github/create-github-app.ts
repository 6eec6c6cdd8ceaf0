/**
 * dfm as a GitHub App (probot): one Probot per process, its API base URL from GITHUB_API_URL (passed
 * to the constructor: createProbot's env merge would drop a base URL given as a default). The app
 * authenticates with a JWT from APP_ID and PRIVATE_KEY; a repository is fetched with an
 * installation token that lives in memory only (probot's cache keeps it for 59 of its 60 minutes).
 */
import { Probot, ProbotOctokit } from 'probot';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';

export interface GitHubApp {
  readonly probot: Probot;
  /** `Authorization` header value for git over https as the installation (`Basic x-access-token:<token>`). */
  installationAuthorization(installationId: number): Promise<string>;
  /** The repositories an installation can reach now. */
  installationRepositories(installationId: number): Promise<InstallationRepository[]>;
  /** Every installation of the app. */
  installations(): Promise<number[]>;
  /** An Octokit acting as the installation (token cached by probot), for reports and reviews. */
  installationOctokit(installationId: number): Promise<InstallationOctokit>;
}

export type InstallationOctokit = Awaited<ReturnType<Probot['auth']>>;

export interface InstallationRepository {
  readonly fullName: string;
  readonly cloneUrl: string;
  readonly defaultBranch: string;
}

export function createGitHubApp(github: NonNullable<Config['github']>, logger: Logger): GitHubApp {
  const probot = new Probot({
    appId: github.appId,
    privateKey: github.privateKey,
    secret: github.webhookSecret,
    baseUrl: github.apiUrl,
    log: logger.child({ name: 'probot' }),
    // Throttling paces writes as GitHub's secondary limits ask (80 content-creating requests a
    // minute). A rate limit GitHub still answers with is NOT retried inside octokit: the error
    // reaches the outbox, which defers only that repository by its retry-after
    // (outbox/start-outbox-sender.ts), instead of octokit waiting while holding a sender's slot.
    // octokit's retry plugin is off: retries belong to the durable layers (the outbox, the job
    // queue), which record each attempt, survive a restart and do not hold a sender's slot while
    // they sleep (the plugin waits 1 s, 4 s, 9 s in memory).
    //
    // A function, not an options object: probot derives its own class from this one and passes
    // its throttle options (handlers, no `enabled`) to the constructor, which an object of
    // defaults is shallow-merged under — the whole `throttle` object was replaced, so throttling
    // stayed on (writes paced at one a second) whatever DFM_GITHUB_THROTTLE said, and probot's
    // handlers retried primary rate limits in memory. Applied last, these options win.
    Octokit: ProbotOctokit.defaults((options: { throttle?: object } = {}) => ({
      ...options,
      throttle: { ...options.throttle, enabled: github.throttle, onRateLimit: () => false, onSecondaryRateLimit: () => false },
      retry: { enabled: false },
    })),
  });
  const octokits = new Map<number, Promise<InstallationOctokit>>();
  return {
    probot,
    async installationAuthorization(installationId) {
      const octokit = await probot.auth(installationId);
      const { token } = (await octokit.auth({ type: 'installation' })) as { token: string };
      return `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    },
    async installationRepositories(installationId) {
      const octokit = await probot.auth(installationId);
      const repositories = await octokit.paginate('GET /installation/repositories', { per_page: 100 });
      return repositories.map((r) => ({ fullName: r.full_name, cloneUrl: r.clone_url, defaultBranch: r.default_branch }));
    },
    installationOctokit(installationId) {
      // One Octokit per installation for the life of the process: building one (its plugins, its
      // auth strategy) per report cost more than the report's request (bench/pr-check.ts). Its
      // auth strategy renews the installation token itself when it expires.
      let octokit = octokits.get(installationId);
      if (octokit === undefined) {
        octokit = probot.auth(installationId);
        octokits.set(installationId, octokit);
        octokit.catch(() => octokits.delete(installationId));
      }
      return octokit;
    },
    async installations() {
      const octokit = await probot.auth();
      const installations = await octokit.paginate('GET /app/installations', { per_page: 100 });
      return installations.map((i) => i.id);
    },
  };
}

const apps = new WeakMap<object, GitHubApp>();

/** The process's one GitHub App for this configuration (the ingress and the sync jobs share its token cache). */
export function gitHubAppFor(config: Config, logger: Logger): GitHubApp | undefined {
  if (config.github === undefined) return undefined;
  let app = apps.get(config);
  if (app === undefined) {
    app = createGitHubApp(config.github, logger);
    apps.set(config, app);
  }
  return app;
}
