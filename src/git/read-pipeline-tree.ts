/**
 * The pipeline files of one commit, read from git objects: `ls-tree -r -l` lists the folder with
 * blob sizes, then one `cat-file --batch` reads every blob (one process for 100 files instead of
 * 100). No working tree, so it works on a bare mirror while another sync fetches into it.
 * Bounded before reading: more than `maxFiles` YAML files or one larger than `maxFileBytes` is a
 * clear error (PIPELINES_TOO_MANY / PIPELINE_FILE_TOO_LARGE), never an out-of-memory.
 */
import { DfmError } from '../lib/errors.js';
import type { PipelineFile } from '../pipeline/validate-pipeline-files.js';
import { runGit, type GitAccess } from './run-git.js';

export const MAX_PIPELINE_FILES = 10_000;
export const MAX_PIPELINE_FILE_BYTES = 10 * 1024 * 1024;
const PIPELINE_FILE = /\.ya?ml$/i;

export interface TreeLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
}

export async function readPipelineTree(
  repo: string,
  commit: string,
  dir: string,
  access: GitAccess,
  limits: TreeLimits = { maxFiles: MAX_PIPELINE_FILES, maxFileBytes: MAX_PIPELINE_FILE_BYTES },
): Promise<PipelineFile[]> {
  // An entry is at most ~4 KB of path plus 60 bytes: the listing of an over-large folder is cut
  // off by the byte cap long before it can exhaust memory.
  const listing = await runGit(repo, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit, '--', dir === '.' ? '.' : dir], {
    access,
    maxBytes: (limits.maxFiles + 1) * 4200 * 4,
  }).catch((error: unknown) => {
    if (error instanceof DfmError && error.code === 'GIT_OUTPUT_TOO_LARGE') throw tooMany(dir, limits);
    throw error;
  });
  const blobs = listing
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const tab = entry.indexOf('\t');
      const [, type, sha, size] = entry.slice(0, tab).split(/ +/);
      return { type, sha: sha!, size: Number(size), file: entry.slice(tab + 1) };
    })
    .filter((entry) => entry.type === 'blob' && PIPELINE_FILE.test(entry.file))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (blobs.length > limits.maxFiles) throw tooMany(dir, limits, blobs.length);
  const large = blobs.find((b) => b.size > limits.maxFileBytes);
  if (large !== undefined) {
    throw new DfmError('PIPELINE_FILE_TOO_LARGE', `${large.file} is ${large.size} bytes, more than the ${limits.maxFileBytes} a pipeline file may have; split it or move the data out of the repository`, {
      details: { file: large.file, bytes: large.size },
    });
  }
  if (blobs.length === 0) return [];
  const total = blobs.reduce((sum, b) => sum + b.size + 64 + b.sha.length, 0);
  const batch = await runGit(repo, ['cat-file', '--batch'], { access, maxBytes: total + 1024, input: blobs.map((b) => `${b.sha}\n`).join('') });
  const files: PipelineFile[] = [];
  let at = 0;
  for (const blob of blobs) {
    const headerEnd = batch.indexOf(0x0a, at);
    const [, , size] = batch.subarray(at, headerEnd).toString('utf8').split(' ');
    const start = headerEnd + 1;
    const end = start + Number(size);
    files.push({ file: blob.file, text: batch.subarray(start, end).toString('utf8') });
    at = end + 1;
  }
  return files;
}

function tooMany(dir: string, limits: TreeLimits, count?: number): DfmError {
  return new DfmError('PIPELINES_TOO_MANY', `${dir} holds ${count === undefined ? 'more than' : count} pipeline files; at most ${limits.maxFiles} are read at one commit. Point DFM_GIT_PATH at the pipelines folder alone`, {
    details: { dir, ...(count === undefined ? {} : { files: count }) },
  });
}
