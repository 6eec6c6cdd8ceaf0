/** The checked-in JSON Schema and reference docs must equal what the schema generates today. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from './diagnostic-codes.js';
import { renderPipelineJsonSchema } from './json-schema.js';
import { renderPipelineDocs } from './pipeline-docs.js';

const root = path.resolve(import.meta.dirname, '../..');
const regenerate = 'stale: run `npx tsx scripts/generate-pipeline-docs.ts` and commit the result';

describe('generated files', () => {
  it('schema/pipeline.schema.json is up to date', () => {
    expect(readFileSync(path.join(root, 'schema/pipeline.schema.json'), 'utf8'), regenerate).toBe(renderPipelineJsonSchema());
  });

  it('docs/pipelines.md is up to date', () => {
    expect(readFileSync(path.join(root, 'docs/pipelines.md'), 'utf8'), regenerate).toBe(renderPipelineDocs());
  });

  it('documents every diagnostic code the corpus expects', () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? files(path.join(dir, f)) : [path.join(dir, f)]));
    const codes = files(path.join(root, 'test/fixtures/pipelines')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^# expect: \S+ (\S+)/gm)].map((m) => m[1]!));
    for (const code of codes) expect(Object.keys(DIAGNOSTIC_CODES), code).toContain(code);
  });
});
