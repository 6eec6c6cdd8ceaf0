/**
 * One pipeline file's text → the normalized pipeline and located diagnostics. Never throws on any
 * input: size and alias expansion are bounded before anything is built, so a hostile or broken
 * file yields a diagnostic, not a crash or a hang.
 */
import { parseDocument, type YAMLError } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import { sortDiagnostics } from './diagnostic.js';
import { issueToDiagnostics } from './issue-to-diagnostics.js';
import { lintPipeline } from './lint-pipeline.js';
import { pipelineSchema, type Pipeline } from './pipeline-schema.js';
import { lineCounterFor, toPosition } from './yaml-locate.js';

/** Largest pipeline file accepted, in bytes. Real pipelines are a few KB; 1 MiB is generous. */
export const MAX_PIPELINE_FILE_BYTES = 1_048_576;
/** Alias uses allowed when building the data; a billion-laughs document needs far more. */
export const MAX_ALIAS_COUNT = 100;
/** YAML syntax errors reported per file; later ones are mostly consequences of the first. */
export const MAX_SYNTAX_ERRORS = 3;

const YAML_CODES: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate-key',
  MULTIPLE_DOCS: 'multiple-documents',
};

export interface ParsedPipelineSource {
  pipeline?: Pipeline;
  diagnostics: Diagnostic[];
}

function fileDiagnostic(file: string, code: string, message: string, hint?: string): Diagnostic {
  return { file, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code, message, ...(hint === undefined ? {} : { hint }) };
}

export function parsePipelineSource(text: string, file: string): ParsedPipelineSource {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PIPELINE_FILE_BYTES) {
    return { diagnostics: [fileDiagnostic(file, 'file-too-large', `File is ${bytes} bytes; pipeline files are limited to ${MAX_PIPELINE_FILE_BYTES} bytes`, 'Split it into several pipelines, or move large SQL into views or functions')] };
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, merge: true, keepSourceTokens: false });
  const lineCounter = lineCounterFor(text);
  // After the first syntax errors the rest are usually echoes of them ("Unexpected token" per line).
  const problems = [...doc.errors.slice(0, MAX_SYNTAX_ERRORS), ...doc.warnings.slice(0, MAX_SYNTAX_ERRORS)];
  const yamlProblems = problems.map((problem: YAMLError): Diagnostic => {
    const [start] = problem.pos;
    let end = problem.pos[1];
    let key = '';
    if (problem.code === 'DUPLICATE_KEY') {
      const match = /^("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(text.slice(start));
      if (match) {
        end = start + match[1]!.length;
        key = match[1]!.replace(/^["']|["']$/g, '');
      }
    }
    const code = YAML_CODES[problem.code] ?? 'yaml-syntax';
    const message = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return {
      file,
      ...toPosition(lineCounter, text, { start, end }),
      severity: problem.name === 'YAMLWarning' ? 'warning' : 'error',
      code,
      message:
        code === 'duplicate-key'
          ? `Duplicate key "${key}"`
          : code === 'multiple-documents'
            ? 'A pipeline file holds one YAML document, this one has more ("---")'
            : message,
      ...(code === 'duplicate-key'
        ? { hint: 'Remove one of the two entries; only one of them would take effect' }
        : code === 'multiple-documents'
          ? { hint: 'Put each pipeline in its own file' }
          : code === 'yaml-syntax'
            ? { hint: syntaxHint(message) }
            : {}),
    };
  });
  if (doc.errors.length > 0) return { diagnostics: sortDiagnostics(yamlProblems) };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/alias/i.test(message)) {
      return { diagnostics: [...yamlProblems, fileDiagnostic(file, 'alias-limit', `Too many YAML alias expansions (limit ${MAX_ALIAS_COUNT})`, 'Write the repeated values out, or use fewer anchors and aliases')] };
    }
    return { diagnostics: [...yamlProblems, fileDiagnostic(file, 'yaml-syntax', `Cannot read YAML: ${message}`)] };
  }
  if (data === null || data === undefined) {
    return { diagnostics: [...yamlProblems, fileDiagnostic(file, 'empty-file', 'File is empty', 'A pipeline needs at least "id" and "tasks"')] };
  }

  const result = pipelineSchema.safeParse(withoutExtensionFields(data));
  const context = { file, text, doc, lineCounter, data, schema: pipelineSchema };
  if (!result.success) {
    if (typeof data !== 'object' || Array.isArray(data)) {
      return { diagnostics: [...yamlProblems, { ...fileDiagnostic(file, 'invalid-type', `A pipeline file must be a mapping of fields, got ${Array.isArray(data) ? 'a list' : 'a single value'}`, 'Start with "id: my-pipeline" and a "tasks:" mapping'), ...toPosition(lineCounter, text, firstLineOf(text, doc.contents?.range?.[0] ?? 0)) }] };
    }
    const diagnostics = result.error.issues.flatMap((issue) => issueToDiagnostics(issue, context));
    return { diagnostics: sortDiagnostics(dedupe([...yamlProblems, ...diagnostics])) };
  }
  const warnings = lintPipeline(result.data, context);
  return { pipeline: result.data, diagnostics: sortDiagnostics([...yamlProblems, ...warnings]) };
}

/**
 * Top-level keys starting with `x-` are ignored (as in docker-compose), so YAML anchors for shared
 * task settings have a home that is not a pipeline field.
 */
export function withoutExtensionFields(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
}

function firstLineOf(text: string, start: number): { start: number; end: number } {
  const newline = text.indexOf('\n', start);
  return { start, end: newline === -1 ? text.length : newline };
}

function syntaxHint(message: string): string {
  if (/nested mappings/i.test(message)) return 'Quote this value: a ": " inside plain text starts a mapping';
  if (/missing closing/i.test(message)) return 'Close the quote that starts this value';
  if (/tab/i.test(message)) return 'Indent with spaces; YAML does not allow tabs for indentation';
  return 'Check indentation, quotes and ":" separators around this position';
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.line}:${d.column}:${d.code}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
