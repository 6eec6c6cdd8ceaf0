/**
 * Property-based fuzzing: thousands of mutations of valid pipelines (text edits and structural
 * edits) never make the parser throw, and every diagnostic points inside the file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import { parsePipelineSource } from './parse-pipeline-source.js';
import { validatePipelineFiles } from './validate-pipeline-files.js';

// Thousands of runs take a few seconds alone and longer beside other test files on a busy machine.
const FUZZ_TIMEOUT_MS = 120_000;
const root = path.resolve(import.meta.dirname, '../..');
const seeds = [
  ...readdirSync(path.join(root, 'pipelines')).map((f) => path.join(root, 'pipelines', f)),
  ...readdirSync(path.join(root, 'test/fixtures/pipelines/valid')).map((f) => path.join(root, 'test/fixtures/pipelines/valid', f)),
].map((file) => readFileSync(file, 'utf8'));

function expectInside(text: string, diagnostics: Diagnostic[]): void {
  const lines = text.split('\n');
  for (const d of diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lines.length);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeLessThanOrEqual(lines[d.line - 1]!.length + 1);
    expect(d.endLine).toBeGreaterThanOrEqual(d.line);
    expect(d.endLine).toBeLessThanOrEqual(lines.length);
    expect(d.endColumn).toBeLessThanOrEqual(lines[d.endLine - 1]!.length + 1);
    if (d.endLine === d.line) expect(d.endColumn).toBeGreaterThanOrEqual(d.column);
    expect(['error', 'warning']).toContain(d.severity);
    expect(d.code).toMatch(/^[a-z-]+$/);
    expect(d.message.length).toBeGreaterThan(0);
  }
}

const yamlChars = fc.constantFrom(...':-[]{}#&*!|>\'"\n \t,?%@`\\ab1_.'.split(''), ': ', '\n  ', '- ', '{{ ', ' }}', ':x', '*a', '&a ', '<<: ', '---\n');
const textMutation = (text: string) =>
  fc.oneof(
    // Insert a few YAML-significant characters somewhere.
    fc.tuple(fc.nat({ max: text.length }), fc.array(yamlChars, { minLength: 1, maxLength: 4 })).map(([at, chars]) => text.slice(0, at) + chars.join('') + text.slice(at)),
    // Delete a range.
    fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 40 })).map(([at, length]) => text.slice(0, at) + text.slice(at + length)),
    // Re-indent, duplicate or drop a line.
    fc.tuple(fc.nat(), fc.constantFrom('indent', 'dedent', 'duplicate', 'drop', 'swap')).map(([n, op]) => {
      const lines = text.split('\n');
      const i = n % lines.length;
      if (op === 'indent') lines[i] = `  ${lines[i]}`;
      else if (op === 'dedent') lines[i] = lines[i]!.replace(/^ {1,2}/, '');
      else if (op === 'duplicate') lines.splice(i, 0, lines[i]!);
      else if (op === 'drop') lines.splice(i, 1);
      else if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      return lines.join('\n');
    }),
  );

const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 100_000 }), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.constantFrom('30s', '10 minutes', '@daily', '61 * * * *', 'Europe/Berln', 'postgres.sq', ':nope', '{{ params.x }}', 'a'));
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('type', 'sql', 'needs', 'topic', 'x', 'retries', 'kafka'), scalar, { maxKeys: 3 }));

/** Sets `value` at a path picked by `choices` (an index per level), or deletes it. */
function mutateStructure(data: unknown, choices: number[], replacement: unknown, remove: boolean): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  let node: unknown = copy;
  for (let depth = 0; depth < choices.length; depth++) {
    if (node === null || typeof node !== 'object') break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[choices[depth]! % keys.length]!;
    const child = (node as Record<string, unknown>)[key];
    const last = depth === choices.length - 1 || child === null || typeof child !== 'object';
    if (last) {
      if (remove) delete (node as Record<string, unknown>)[key];
      else (node as Record<string, unknown>)[key] = replacement;
      break;
    }
    node = child;
  }
  return copy;
}

describe('fuzzed pipelines', () => {
  it('text mutations never throw and diagnostics stay inside the file', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds).chain((seed) => fc.tuple(fc.constant(seed), textMutation(seed))),
        ([, text]) => {
          const result = parsePipelineSource(text, 'fuzz.yaml');
          expectInside(text, result.diagnostics);
          if (result.pipeline === undefined) expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  }, FUZZ_TIMEOUT_MS);

  it('structural mutations never throw and diagnostics stay inside the file', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), value, fc.boolean(), (seed, choices, replacement, remove) => {
        const text = stringify(mutateStructure(parse(seed), choices, replacement, remove));
        const result = parsePipelineSource(text, 'fuzz.yaml');
        expectInside(text, result.diagnostics);
      }),
      { numRuns: 2000 },
    );
  }, FUZZ_TIMEOUT_MS);

  it('sets of mutated files validate without throwing', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...seeds).chain((seed) => textMutation(seed)), { minLength: 1, maxLength: 4 }), (texts) => {
        const files = texts.map((text, i) => ({ file: `f${i}.yaml`, text }));
        const result = validatePipelineFiles(files);
        for (const file of files) expectInside(file.text, result.diagnostics.filter((d) => d.file === file.file));
      }),
      { numRuns: 300 },
    );
  }, FUZZ_TIMEOUT_MS);
});
