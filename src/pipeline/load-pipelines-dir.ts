/** The file-system edge: reads pipeline files for validation. Everything after this is pure. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DfmError } from '../lib/errors.js';
import type { PipelineFile } from './validate-pipeline-files.js';

const PIPELINE_FILE = /\.ya?ml$/i;

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') files.push(...(await walk(full)));
    } else if (entry.isFile() && PIPELINE_FILE.test(entry.name)) {
      files.push(full);
    }
  }
  return files;
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/**
 * Every *.yaml / *.yml under `dir`, recursively, sorted. `file` is the path as reached from
 * `dir` as given (relative stays relative), with `/` separators, so diagnostics print the same on
 * every OS. `cwd` resolves a relative `dir`.
 */
export async function loadPipelinesDir(dir: string, cwd: string = process.cwd()): Promise<PipelineFile[]> {
  return loadPipelineFiles([dir], cwd);
}

/** Files and folders (recursively) as pipeline files; a missing path is a DfmError `PATH_NOT_FOUND`. */
export async function loadPipelineFiles(paths: readonly string[], cwd: string): Promise<PipelineFile[]> {
  const found = new Set<string>();
  for (const given of paths) {
    const absolute = path.resolve(cwd, given);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) throw new DfmError('PATH_NOT_FOUND', `No such file or folder: ${given}`);
    const files = info.isDirectory() ? await walk(absolute) : [absolute];
    for (const file of files) found.add(file);
  }
  const files = [...found].sort();
  return Promise.all(
    files.map(async (absolute) => {
      const relative = path.relative(cwd, absolute);
      const file = toPosix(relative.startsWith('..') ? absolute : relative);
      return { file, text: await readFile(absolute, 'utf8') };
    }),
  );
}
