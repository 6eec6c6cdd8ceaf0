/**
 * The git edge: pipeline files as they are in a revision, read from git objects (ls-tree +
 * cat-file), never by checking out, so it works on a bare repository and leaves the working tree
 * alone.
 */
import { simpleGit } from 'simple-git';
import { DfmError } from '../lib/errors.js';
import type { PipelineFile } from './validate-pipeline-files.js';

const PIPELINE_FILE = /\.ya?ml$/i;

export async function readPipelinesAtRevision(options: { repo: string; ref: string; dir: string }): Promise<PipelineFile[]> {
  const git = simpleGit({ baseDir: options.repo });
  let commit: string;
  try {
    commit = (await git.raw(['rev-parse', '--verify', '--end-of-options', `${options.ref}^{commit}`])).trim();
  } catch (error) {
    throw new DfmError('GIT_REF_NOT_FOUND', `"${options.ref}" is not a commit in ${options.repo}; fetch it or check the name`, { cause: error });
  }
  const dir = options.dir.replace(/^\.\/+/, '').replace(/\/+$/, '');
  const listing = await git.raw(['ls-tree', '-r', '-z', '--full-tree', commit, '--', dir === '' || dir === '.' ? '.' : dir]);
  const blobs = listing
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const tab = entry.indexOf('\t');
      const [, type, sha] = entry.slice(0, tab).split(' ');
      return { type, sha: sha!, file: entry.slice(tab + 1) };
    })
    .filter((entry) => entry.type === 'blob' && PIPELINE_FILE.test(entry.file))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const files: PipelineFile[] = [];
  for (const blob of blobs) files.push({ file: blob.file, text: await git.raw(['cat-file', 'blob', blob.sha]) });
  return files;
}
