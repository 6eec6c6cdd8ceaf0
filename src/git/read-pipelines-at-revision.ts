/**
 * The pipeline files of a revision of a local repository (`dfm plan --repo --base --head`): the ref
 * resolved to a commit, then the same bounded object read as a sync (read-pipeline-tree.ts).
 * Works on a bare repository and leaves the working tree alone.
 */
import { DfmError } from '../lib/errors.js';
import type { PipelineFile } from '../pipeline/validate-pipeline-files.js';
import { readPipelineTree } from './read-pipeline-tree.js';
import { runGit, type GitAccess } from './run-git.js';
import { checkRepositoryPath, GIT_PROTOCOLS } from './validate-git-input.js';

const LOCAL_ACCESS: GitAccess = { timeoutMs: 120_000, protocols: [...GIT_PROTOCOLS] };

export async function readPipelinesAtRevision(options: { repo: string; ref: string; dir: string }): Promise<PipelineFile[]> {
  let commit: string;
  try {
    commit = (await runGit(options.repo, ['rev-parse', '--verify', '--end-of-options', `${options.ref}^{commit}`], { access: LOCAL_ACCESS, maxBytes: 1024 })).toString('utf8').trim();
  } catch (error) {
    throw new DfmError('GIT_REF_NOT_FOUND', `"${options.ref}" is not a commit in ${options.repo}; fetch it or check the name`, { cause: error });
  }
  return readPipelineTree(options.repo, commit, checkRepositoryPath(options.dir), LOCAL_ACCESS);
}
