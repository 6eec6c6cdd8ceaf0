/**
 * The two revisions a pull-request review compares, fetched into a mirror of the repository kept
 * for reviews (apart from the sync's, whose lock a review must not wait on): the PR's head through
 * `refs/pull/<n>/head`, which GitHub serves in the base repository for forks too (a fork's own URL
 * is never fetched), and the base branch. The base revision is the merge base of the two, so the
 * plan shows what the pull request itself changes, as GitHub's "Files changed" does, not the
 * reverse of what landed on the base branch since.
 *
 * A head that is no longer the PR's (a newer push replaced it before this fetch) may be missing:
 * `head` is then undefined and the review is superseded anyway.
 */
import { DfmError } from '../lib/errors.js';
import { fetchRefspecs, mirrorPath, prepareMirror } from './fetch-branch.js';
import { hasCommit } from './read-commit.js';
import { runGit, type GitAccess } from './run-git.js';
import { checkBranchName, checkCommitSha } from './validate-git-input.js';

export interface FetchedPullRequest {
  readonly repo: string;
  /** The head commit, when the mirror has it. */
  readonly head: string | undefined;
  /** The merge base of the head and the base branch (or the payload's base SHA). */
  readonly base: string;
}

export async function fetchPullRequest(options: {
  cacheDir: string;
  repository: string;
  url: string;
  prNumber: number;
  baseRef: string;
  headSha: string;
  baseSha: string;
  access: GitAccess;
}): Promise<FetchedPullRequest> {
  const repo = mirrorPath(options.cacheDir, `review:${options.repository}`);
  const baseRef = checkBranchName(options.baseRef, "The pull request's base branch");
  const headSha = checkCommitSha(options.headSha, "The pull request's head");
  const baseSha = checkCommitSha(options.baseSha, "The pull request's base");
  if (!Number.isSafeInteger(options.prNumber) || options.prNumber <= 0) throw new DfmError('PR_NUMBER_INVALID', `Not a pull request number: ${options.prNumber}`);
  await prepareMirror(repo, options.access);
  const pr = `refs/pull/${options.prNumber}/head`;
  if (!(await hasCommit(repo, headSha, options.access)) || !(await hasCommit(repo, baseSha, options.access))) {
    await fetchRefspecs(repo, options.url, [`+${pr}:${pr}`, `+refs/heads/${baseRef}:refs/heads/${baseRef}`], options.access, `fetch pull request #${options.prNumber}`);
  }
  const head = (await hasCommit(repo, headSha, options.access)) ? headSha : undefined;
  if (head === undefined) return { repo, head, base: baseSha };
  const mergeBase = await runGit(repo, ['merge-base', '--end-of-options', head, (await hasCommit(repo, baseSha, options.access)) ? baseSha : `refs/heads/${baseRef}`], { access: options.access, maxBytes: 1024 })
    .then((out) => out.toString('utf8').trim())
    .catch(() => baseSha);
  return { repo, head, base: /^[0-9a-f]{40}$/.test(mergeBase) ? mergeBase : baseSha };
}
