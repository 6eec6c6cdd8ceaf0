/**
 * Diagnostics as GitHub check-run annotations, so each error shows on its line in the PR's "Files
 * changed" view. GitHub takes at most 50 annotations per check-run request (further requests
 * append), hence `batchAnnotations`. Annotations are plain text: no Markdown escaping needed.
 */
import { z } from 'zod';
import { cutText } from '../lib/cut-text.js';
import type { Diagnostic } from '../pipeline/diagnostic.js';

/**
 * The check-run annotation object of the GitHub REST API (`output.annotations[]`): one schema, from
 * which the type here and the outbox's check of a check-run report (deliver-github-reports.ts) come.
 */
export const annotationSchema = z.object({
  path: z.string(),
  start_line: z.number().int(),
  end_line: z.number().int(),
  /** Only when start_line === end_line: GitHub refuses columns on a multi-line annotation. */
  start_column: z.number().int().optional(),
  end_column: z.number().int().optional(),
  annotation_level: z.enum(['failure', 'warning', 'notice']),
  /** ≤ 255 characters. */
  title: z.string().max(255).optional(),
  /** ≤ 64 KB. */
  message: z.string(),
  raw_details: z.string().optional(),
});
export type Annotation = z.infer<typeof annotationSchema>;

/** GitHub's limits on one annotation's fields. */
const TITLE_MAX_CHARS = 255;
const MESSAGE_MAX_BYTES = 64 * 1024;
/** GitHub's limit of annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;

const LEVEL: Record<Diagnostic['severity'], Annotation['annotation_level']> = { error: 'failure', warning: 'warning' };

function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const suffix = '…';
  let bytes = Buffer.byteLength(suffix, 'utf8');
  let kept = '';
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > maxBytes) break;
    kept += char;
  }
  return kept + suffix;
}

export function toAnnotations(diagnostics: readonly Diagnostic[]): Annotation[] {
  return diagnostics.map((d) => {
    const startLine = Math.max(1, d.line);
    const endLine = Math.max(startLine, d.endLine);
    const columns =
      startLine === endLine
        ? { start_column: Math.max(1, d.column), end_column: Math.max(Math.max(1, d.column), d.endColumn) }
        : {};
    return {
      path: d.file,
      start_line: startLine,
      end_line: endLine,
      ...columns,
      annotation_level: LEVEL[d.severity],
      title: cutText(d.code, TITLE_MAX_CHARS),
      message: cutUtf8(d.hint === undefined ? d.message : `${d.message}\n${d.hint}`, MESSAGE_MAX_BYTES),
    };
  });
}

/** Annotations in requests of at most `size` (GitHub takes 50 per request), in order. */
export function batchAnnotations(annotations: readonly Annotation[], size = ANNOTATIONS_PER_REQUEST): Annotation[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += size) batches.push(annotations.slice(i, i + size));
  return batches;
}
