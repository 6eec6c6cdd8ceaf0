import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../pipeline/diagnostic.js';
import { batchAnnotations, toAnnotations } from './to-annotations.js';

const diagnostic = (overrides: Partial<Diagnostic> = {}): Diagnostic => ({
  file: 'pipelines/orders.yaml',
  line: 12,
  column: 5,
  endLine: 12,
  endColumn: 12,
  severity: 'error',
  code: 'schema.unknown_field',
  message: 'Unknown field "retires".',
  hint: 'Did you mean "retries"?',
  ...overrides,
});

describe('toAnnotations', () => {
  it('puts an error on its line and columns, with the hint in the message', () => {
    expect(toAnnotations([diagnostic()])).toEqual([
      {
        path: 'pipelines/orders.yaml',
        start_line: 12,
        end_line: 12,
        start_column: 5,
        end_column: 12,
        annotation_level: 'failure',
        title: 'schema.unknown_field',
        message: 'Unknown field "retires".\nDid you mean "retries"?',
      },
    ]);
  });

  it('leaves columns out of a multi-line annotation, which GitHub would refuse', () => {
    const [annotation] = toAnnotations([diagnostic({ severity: 'warning', line: 3, endLine: 7, hint: undefined })]);
    expect(annotation).toEqual({ path: 'pipelines/orders.yaml', start_line: 3, end_line: 7, annotation_level: 'warning', title: 'schema.unknown_field', message: 'Unknown field "retires".' });
  });

  it('keeps positions GitHub accepts when a diagnostic has none', () => {
    const [annotation] = toAnnotations([diagnostic({ line: 0, column: 0, endLine: 0, endColumn: 0 })]);
    expect(annotation).toMatchObject({ start_line: 1, end_line: 1, start_column: 1, end_column: 1 });
  });

  it('cuts a title to 255 characters and a message to 64 KiB of UTF-8', () => {
    const [annotation] = toAnnotations([diagnostic({ code: 'x'.repeat(300), message: '€'.repeat(30_000), hint: undefined })]);
    expect(annotation!.title).toHaveLength(255);
    expect(annotation!.title!.endsWith('x…')).toBe(true);
    expect(Buffer.byteLength(annotation!.message, 'utf8')).toBeLessThanOrEqual(65_536);
    expect(annotation!.message.endsWith('€…')).toBe(true);
  });
});

describe('batchAnnotations', () => {
  it('sends 120 annotations as 50, 50 and 20, in order', () => {
    const annotations = toAnnotations(Array.from({ length: 120 }, (_, i) => diagnostic({ line: i + 1, endLine: i + 1 })));
    const batches = batchAnnotations(annotations);
    expect(batches.map((b) => b.length)).toEqual([50, 50, 20]);
    expect(batches.flat().map((a) => a.start_line)).toEqual(annotations.map((a) => a.start_line));
  });

  it('sends nothing for no diagnostics and refuses a batch size below 1', () => {
    expect(batchAnnotations([])).toEqual([]);
    expect(() => batchAnnotations([], 0)).toThrow('batch size must be a positive integer, got 0');
  });
});
