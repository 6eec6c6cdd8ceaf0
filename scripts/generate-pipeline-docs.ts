/**
 * Writes schema/pipeline.schema.json and docs/pipelines.md from the pipeline schema.
 *   npx tsx scripts/generate-pipeline-docs.ts          write both files
 *   npx tsx scripts/generate-pipeline-docs.ts --check  exit 1 when either is stale (CI)
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { renderPipelineJsonSchema } from '../src/pipeline/json-schema.js';
import { renderPipelineDocs } from '../src/pipeline/pipeline-docs.js';

const root = path.resolve(import.meta.dirname, '..');
const outputs = [
  { file: 'schema/pipeline.schema.json', content: renderPipelineJsonSchema() },
  { file: 'docs/pipelines.md', content: renderPipelineDocs() },
];

const check = process.argv.includes('--check');
let stale = 0;
for (const { file, content } of outputs) {
  const target = path.join(root, file);
  const current = await readFile(target, 'utf8').catch(() => undefined);
  if (current === content) continue;
  if (check) {
    console.error(`${file} is stale; run: npx tsx scripts/generate-pipeline-docs.ts`);
    stale++;
  } else {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    console.log(`wrote ${file}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
