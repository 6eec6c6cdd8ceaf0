/**
 * Which pull-request heads a GitHub event asks dfm to review. Pure: payload in, requests out.
 * - pull_request opened, synchronize, reopened, ready_for_review: the PR's head;
 * - check_suite requested (a push) / rerequested, check_run rerequested ("Re-run"): every PR the
 *   suite or run belongs to (GitHub lists only the PRs of the same repository; a fork's PR is
 *   reviewed through its pull_request events), rerequests as re-runs.
 * Anything else: none.
 */
import type { ReviewRequest } from './review-pull-request.js';

const PULL_REQUEST_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'ready_for_review']);

interface PullRequestRef {
  number?: number;
  head?: { sha?: string; ref?: string; repo?: { full_name?: string } | null };
  base?: { sha?: string; ref?: string; repo?: { full_name?: string } | null };
}

interface ReviewPayload {
  action?: string;
  installation?: { id?: number };
  repository?: { full_name?: string; clone_url?: string };
  pull_request?: PullRequestRef;
  check_suite?: { head_sha?: string; pull_requests?: PullRequestRef[] };
  check_run?: { head_sha?: string; name?: string; pull_requests?: PullRequestRef[]; check_suite?: { head_sha?: string } };
}

export function toReviewRequests(event: string, payload: ReviewPayload, seq: number): ReviewRequest[] {
  const installationId = payload.installation?.id;
  const repository = payload.repository?.full_name;
  const cloneUrl = payload.repository?.clone_url;
  if (installationId === undefined || repository === undefined || cloneUrl === undefined) return [];
  const common = { installationId, repository, cloneUrl, seq };
  const fromPr = (pr: PullRequestRef, headSha: string | undefined, rerun: boolean): ReviewRequest[] => {
    const head = headSha ?? pr.head?.sha;
    if (pr.number === undefined || head === undefined || pr.base?.sha === undefined || pr.base.ref === undefined) return [];
    const headRepo = pr.head?.repo?.full_name;
    return [{ ...common, prNumber: pr.number, headSha: head.toLowerCase(), baseSha: pr.base.sha.toLowerCase(), baseRef: pr.base.ref, fromFork: headRepo !== undefined && headRepo !== repository, rerun }];
  };
  if (event === 'pull_request') {
    if (!PULL_REQUEST_ACTIONS.has(payload.action ?? '') || payload.pull_request === undefined) return [];
    return fromPr(payload.pull_request, undefined, payload.action === 'reopened');
  }
  if (event === 'check_suite' && (payload.action === 'requested' || payload.action === 'rerequested')) {
    const suite = payload.check_suite;
    return (suite?.pull_requests ?? []).flatMap((pr) => fromPr(pr, suite?.head_sha, payload.action === 'rerequested'));
  }
  if (event === 'check_run' && payload.action === 'rerequested' && (payload.check_run?.name === undefined || payload.check_run.name === 'dfm')) {
    const run = payload.check_run;
    return (run?.pull_requests ?? []).flatMap((pr) => fromPr(pr, run?.head_sha, true));
  }
  return [];
}
