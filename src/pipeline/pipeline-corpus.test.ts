/**
 * The fixture corpus is the validation spec. Each file under test/fixtures/pipelines/{valid,invalid}
 * starts with `# Case: …` and one `# expect: <line>:<column> <code> <message>` per diagnostic it
 * must produce, in order; the comparison is exact. A folder is one case validated as a set (for
 * rules across files such as duplicate ids), each file listing its own expectations.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatePipelineFiles } from './validate-pipeline-files.js';
import { taskTypes } from './task-types/registry.js';
import { parsePipelineSource } from './parse-pipeline-source.js';

const fixtures = path.resolve(import.meta.dirname, '../../test/fixtures/pipelines');

function casesIn(kind: 'valid' | 'invalid'): { name: string; files: string[] }[] {
  const root = path.join(fixtures, kind);
  return readdirSync(root)
    .sort()
    .map((entry) => {
      const full = path.join(root, entry);
      return statSync(full).isDirectory()
        ? { name: entry, files: readdirSync(full).sort().map((f) => `${entry}/${f}`) }
        : { name: entry, files: [entry] };
    });
}

function expectationsOf(text: string): string[] {
  return [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
}

function run(kind: 'valid' | 'invalid', files: string[]) {
  const inputs = files.map((file) => ({ file, text: readFileSync(path.join(fixtures, kind, file), 'utf8') }));
  const result = validatePipelineFiles(inputs);
  return { inputs, result };
}

describe('invalid pipeline corpus', () => {
  const cases = casesIn('invalid');

  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name', ({ files }) => {
    const { inputs, result } = run('invalid', files);
    for (const input of inputs) {
      const expected = expectationsOf(input.text);
      const actual = result.diagnostics.filter((d) => d.file === input.file).map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
      expect(actual, input.file).toEqual(expected);
    }
    expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    // Every error tells the user how to fix it, except plain type mismatches (the message says it).
    for (const d of result.diagnostics) if (!['invalid-type', 'invalid-value'].includes(d.code)) expect(d.hint, `${d.file} ${d.code}`).toBeTruthy();
  });

  it('covers every rule of issue 3', () => {
    const codes = new Set(cases.flatMap(({ files }) => files.flatMap((f) => expectationsOf(readFileSync(path.join(fixtures, 'invalid', f), 'utf8')).map((e) => e.split(' ')[1]))));
    for (const code of [
      'yaml-syntax', 'duplicate-key', 'unknown-field', 'invalid-type', 'empty-tasks', 'invalid-id', 'duplicate-id', 'unknown-task-type',
      'unknown-need', 'cycle', 'invalid-cron', 'unknown-timezone', 'invalid-duration', 'param-default-type', 'unknown-sql-param',
      'multiple-statements', 'alias-limit', 'missing-field', 'template-not-upstream', 'unknown-template-param',
    ]) {
      expect(codes, code).toContain(code);
    }
  });
});

describe('valid pipeline corpus', () => {
  it.each(casesIn('valid'))('$name', ({ files }) => {
    const { inputs, result } = run('valid', files);
    expect(result.pipelines).toHaveLength(inputs.length);
    for (const input of inputs) {
      const actual = result.diagnostics.filter((d) => d.file === input.file).map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
      expect(actual).toEqual(expectationsOf(input.text));
    }
  });
});

describe('task type examples', () => {
  const examples = taskTypes.flatMap((t) => t.examples.map((e) => ({ type: t.type, title: e.title, yaml: e.yaml })));

  it.each(examples)('$type: $title', ({ type, yaml }) => {
    const body = parse(yaml) as { type: string; needs?: string[] };
    expect(body.type).toBe(type);
    // Give the example its upstream tasks so `needs` and output templates resolve.
    const upstream = (body.needs ?? []).map((id) => `  ${id}:\n    type: postgres.sql\n    sql: select 1\n`).join('');
    const text = `id: example\ntasks:\n${upstream}  subject:\n${yaml.replace(/^(?=.)/gm, '    ')}`;
    const result = parsePipelineSource(text, 'example.yaml');
    expect(result.diagnostics).toEqual([]);
    expect(result.pipeline?.tasks.at(-1)?.type).toBe(type);
  });
});
