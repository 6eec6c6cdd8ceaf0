/**
 * The `github-event` job: what a recorded delivery means for dfm.
 * - push to the branch a source syncs → a sync job for that source naming the pushed commit;
 * - installation / installation_repositories → the installation's repositories re-read (sources
 *   enabled or disabled) and syncs for new ones;
 * - pull_request, check_suite, check_run → a review of the pull request's head (review-pull-request.ts);
 * - issue_comment → `/dfm` commands in a pull request's comments (handle-pr-command.ts).
 * Anything else was recorded as ignored at the ingress and never becomes a job.
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import type { ClaimedJob } from '../jobs/job-queue.js';
import { requestSync } from '../sync/request-sync.js';
import { githubSourceId, listSyncSources, type SyncSource } from '../sync/sync-source.js';
import type { GitHubApp } from './create-github-app.js';
import { handlePrCommand } from './handle-pr-command.js';
import { disableInstallation, refreshInstallation } from './refresh-installation.js';
import { reviewPullRequest } from './review-pull-request.js';
import { toReviewRequests } from './to-review-requests.js';

export const HANDLED_EVENTS: ReadonlySet<string> = new Set(['push', 'installation', 'installation_repositories', 'pull_request', 'check_suite', 'check_run', 'issue_comment']);

const NO_COMMIT = /^0+$/;

interface PushPayload {
  ref?: string;
  after?: string;
  deleted?: boolean;
  repository?: { full_name?: string; clone_url?: string; ssh_url?: string; git_url?: string; html_url?: string; default_branch?: string };
  installation?: { id?: number };
}

export async function handleGitHubEvent(deps: { pool: pg.Pool; app: GitHubApp | undefined; config: Config; logger: Logger }, job: ClaimedJob): Promise<unknown> {
  const { deliveryId, event, payload } = job.payload as { deliveryId: string; event: string; payload: Record<string, unknown> };
  const log = deps.logger.child({ delivery: deliveryId, event });
  let result: Record<string, unknown>;
  if (event === 'push') result = await handlePush(deps.pool, payload as PushPayload);
  else if (event === 'installation' || event === 'installation_repositories') result = await handleInstallation(deps, payload);
  else if (deps.app === undefined) result = { ignored: true, reason: 'the GitHub App is not configured in this process' };
  else if (event === 'issue_comment') result = await handlePrCommand({ ...deps, app: deps.app }, payload, job.id);
  else result = await handleReviewEvent({ ...deps, app: deps.app }, event, payload, job.id);
  await deps.pool.query({ name: 'dfm.delivery-handled', text: `update dfm.webhook_delivery set outcome = 'handled', handled_at = now() where delivery_id = $1`, values: [deliveryId] });
  log.info(result, `GitHub ${event} delivery handled`);
  return result;
}

async function handlePush(pool: pg.Pool, push: PushPayload): Promise<Record<string, unknown>> {
  if (push.deleted === true || push.after === undefined || NO_COMMIT.test(push.after) || push.ref === undefined || push.repository === undefined) {
    return { syncs: [], reason: 'a branch deletion or a push without a commit' };
  }
  const branch = push.ref.replace(/^refs\/heads\//, '');
  const sha = push.after.toLowerCase();
  const sources = (await listSyncSources(pool, { enabledOnly: true })).filter((s) => pushReaches(s, push, branch));
  const syncs: string[] = [];
  const active: string[] = [];
  for (const source of sources) {
    // The pushed commit is already active (a redelivery, a re-pushed head): a sync job would only
    // find that out (run-sync.ts skips it), after a claim, the source's lock and four more statements.
    if (source.activeSha === sha) {
      active.push(source.id);
      continue;
    }
    await requestSync(pool, { sourceId: source.id, trigger: 'github-push', sha });
    syncs.push(source.id);
  }
  return { syncs, ...(active.length > 0 ? { alreadyActive: active } : {}), branch, sha: push.after };
}

/** A push reaches a source when it is to the source's repository and to the branch it syncs. */
function pushReaches(source: SyncSource, push: PushPayload, branch: string): boolean {
  const repo = push.repository!;
  const sameRepository =
    source.kind === 'github'
      ? source.id === githubSourceId(repo.full_name ?? '')
      : source.kind === 'git' && source.url !== null && [repo.clone_url, repo.ssh_url, repo.git_url, repo.html_url, repo.html_url && `${repo.html_url}.git`].some((u) => u !== undefined && sameUrl(u, source.url!));
  if (!sameRepository) return false;
  return (source.branch ?? repo.default_branch) === branch;
}

function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.toLowerCase().replace(/\.git$/, '').replace(/\/+$/, '');
  return norm(a) === norm(b);
}

async function handleInstallation(deps: { pool: pg.Pool; app: GitHubApp | undefined; config: Config }, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  const installationId = (payload.installation as { id?: number } | undefined)?.id;
  const action = String(payload.action ?? '');
  if (installationId === undefined) return { reason: 'no installation in the payload' };
  // DFM_GIT_URL names the one source: installations only matter when they are the sources.
  if (deps.app === undefined || deps.config.gitUrl !== undefined) return { installationId, action, reason: 'the GitHub App does not choose the sources (DFM_GIT_URL is set)' };
  if (action === 'deleted' || action === 'suspend') return { installationId, action, disabled: await disableInstallation(deps.pool, installationId) };
  return { installationId, action, ...(await refreshInstallation(deps.pool, deps.app, deps.config, installationId)) };
}

async function handleReviewEvent(deps: { pool: pg.Pool; app: GitHubApp; config: Config; logger: Logger }, event: string, payload: Record<string, unknown>, seq: number): Promise<Record<string, unknown>> {
  const requests = toReviewRequests(event, payload, seq);
  const reviews = [];
  for (const request of requests) reviews.push({ pr: request.prNumber, head: request.headSha, ...(await reviewPullRequest(deps, request)) });
  return { reviews, ...(requests.length === 0 ? { reason: `nothing to review in ${event}.${String(payload.action ?? '')}` } : {}) };
}
