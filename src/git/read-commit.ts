/** Facts about commits in a local repository (a mirror): who, when, what, and which came first. */
import { DfmError } from '../lib/errors.js';
import { runGit, type GitAccess } from './run-git.js';

export interface CommitInfo {
  readonly sha: string;
  readonly author: string;
  readonly message: string;
  /** Committer time (when the commit was made on the branch, rebases included). */
  readonly committedAt: string;
}

export async function readCommit(repo: string, ref: string, access: GitAccess): Promise<CommitInfo> {
  // %x00 separates fields; the message (subject and body) is last and may hold anything else.
  const out = await runGit(repo, ['log', '-1', '--no-show-signature', '--format=%H%x00%an <%ae>%x00%cI%x00%B', ref, '--'], { access, maxBytes: 256 * 1024 }).catch((error: unknown) => {
    throw new DfmError('GIT_REF_NOT_FOUND', `"${ref}" is not a commit in the repository; fetch it or check the name`, { cause: error });
  });
  const [sha, author, committedAt, ...message] = out.toString('utf8').split('\0');
  return { sha: sha!.trim(), author: author!, committedAt: new Date(committedAt!).toISOString(), message: message.join('\0').trim().slice(0, 4000) };
}

/** Whether `older` is an ancestor of `newer` (a commit is its own ancestor). */
export async function isAncestor(repo: string, older: string, newer: string, access: GitAccess): Promise<boolean> {
  try {
    await runGit(repo, ['merge-base', '--is-ancestor', older, newer], { access, maxBytes: 1024 });
    return true;
  } catch (error) {
    if (error instanceof DfmError && error.code === 'GIT_FAILED') return false;
    throw error;
  }
}

/** Whether the repository has the commit (a force-push may have left the active one behind). */
export async function hasCommit(repo: string, sha: string, access: GitAccess): Promise<boolean> {
  try {
    await runGit(repo, ['cat-file', '-e', `${sha}^{commit}`], { access, maxBytes: 1024 });
    return true;
  } catch {
    return false;
  }
}
