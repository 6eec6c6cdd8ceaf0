/**
 * Brings a branch head of a remote into a bare mirror kept in the cache folder and reused between
 * syncs (one per source; a fetch moves only new objects). The caller holds the source's sync lock
 * (sync/run-sync.ts), so no two fetches share a mirror; a lock file found here was therefore left
 * by a killed git and is removed, and a mirror git calls corrupt is made again from scratch.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DfmError, messageOf } from '../lib/errors.js';
import { networkGit, runGit, type GitAccess } from './run-git.js';
import { checkBranchName } from './validate-git-input.js';

export interface FetchedBranch {
  /** The bare mirror (a git directory) to read objects from. */
  readonly repo: string;
  readonly branch: string;
  readonly head: string;
}

export function mirrorPath(cacheDir: string, sourceId: string): string {
  return path.join(cacheDir, `${createHash('sha256').update(sourceId).digest('hex').slice(0, 16)}.git`);
}

export async function fetchBranch(options: { cacheDir: string; sourceId: string; url: string; branch: string | null; access: GitAccess }): Promise<FetchedBranch> {
  const repo = mirrorPath(options.cacheDir, options.sourceId);
  try {
    return await fetchInto(repo, options);
  } catch (error) {
    if (!/corrupt|bad object|not a git repository|unable to read|\.lock/i.test(messageOf(error))) throw error;
    await rm(repo, { recursive: true, force: true });
    return fetchInto(repo, options);
  }
}

async function fetchInto(repo: string, options: { url: string; branch: string | null; access: GitAccess }): Promise<FetchedBranch> {
  await prepareMirror(repo, options.access);
  const branch = options.branch ?? (await remoteDefaultBranch(repo, options.url, options.access));
  await fetchRefspecs(repo, options.url, [`+refs/heads/${branch}:refs/heads/${branch}`], options.access, `fetch ${branch}`);
  const head = (await runGit(repo, ['rev-parse', '--verify', '--end-of-options', `refs/heads/${branch}^{commit}`], { access: options.access, maxBytes: 1024 })).toString('utf8').trim();
  return { repo, branch, head };
}

/** A bare mirror at `repo`, created when missing, with the lock files of a killed git removed (the caller holds the mirror's lock). */
export async function prepareMirror(repo: string, access: GitAccess): Promise<void> {
  if (!existsSync(path.join(repo, 'HEAD'))) {
    await mkdir(repo, { recursive: true });
    await runGit(repo, ['init', '--bare', '--quiet'], { access, maxBytes: 4096 });
  }
  await removeStaleLocks(repo);
}

/** Fetches checked refspecs (built by dfm from checked names, never a user's text) into the mirror. */
export async function fetchRefspecs(repo: string, url: string, refspecs: readonly string[], access: GitAccess, what: string): Promise<void> {
  try {
    await networkGit(repo, access).raw(['fetch', '--no-tags', '--quiet', '--no-write-fetch-head', url, ...refspecs]);
  } catch (error) {
    throw fetchError(error, what, access);
  }
}

/** The branch the remote's HEAD points at (`ls-remote --symref`). */
async function remoteDefaultBranch(repo: string, url: string, access: GitAccess): Promise<string> {
  let out: string;
  try {
    out = await networkGit(repo, access).raw(['ls-remote', '--symref', url, 'HEAD']);
  } catch (error) {
    throw fetchError(error, 'ls-remote', access);
  }
  const ref = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out)?.[1];
  if (ref === undefined) {
    throw new DfmError('GIT_NO_DEFAULT_BRANCH', 'The repository has no default branch yet (an empty repository, or its HEAD names no branch); push a commit or set DFM_GIT_BRANCH', { retryable: true });
  }
  return checkBranchName(ref, "The remote's default branch");
}

function fetchError(error: unknown, what: string, access: GitAccess): DfmError {
  const message = messageOf(error);
  if (error instanceof Error && (error.name === 'AbortError' || /abort/i.test(message))) {
    return new DfmError('GIT_TIMEOUT', `git ${what} took longer than ${access.timeoutMs} ms and was stopped (DFM_GIT_TIMEOUT_MS)`, { cause: error, retryable: true });
  }
  if (/couldn't find remote ref/i.test(message)) {
    return new DfmError('GIT_BRANCH_NOT_FOUND', `The remote has no such branch (${what}); check DFM_GIT_BRANCH`, { cause: error });
  }
  // git's own text names the URL and the reason (authentication, DNS, refused); an Authorization
  // header is never part of it.
  return new DfmError('GIT_FETCH_FAILED', `git ${what} failed: ${message.trim().slice(0, 1000)}`, { cause: error, retryable: true });
}

async function removeStaleLocks(repo: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && (dir === repo ? entry.name === 'refs' : true)) await walk(full);
      else if (entry.isFile() && entry.name.endsWith('.lock')) await rm(full, { force: true });
    }
  };
  await walk(repo);
}
