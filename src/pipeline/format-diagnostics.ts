/**
 * Diagnostics for people and machines: `text` (file:line:col  severity  code  message, hint
 * below), `json` ({ pipelines, diagnostics } with exactly the Diagnostic fields), and `github`
 * (workflow commands, so `dfm validate --format github` annotates a pull request inside Actions).
 */
import type { Diagnostic } from './diagnostic.js';

export const DIAGNOSTIC_FORMATS = ['text', 'json', 'github'] as const;
export type DiagnosticFormat = (typeof DIAGNOSTIC_FORMATS)[number];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatDiagnosticsText(diagnostics: readonly Diagnostic[], summary: { files: number; pipelines: number }): string {
  const lines = diagnostics.map((d) => `${d.file}:${d.line}:${d.column}  ${d.severity}  ${d.code}  ${d.message}${d.hint ? `\n    hint: ${d.hint}` : ''}`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  lines.push(`${plural(summary.files, 'file')}, ${plural(summary.pipelines, 'valid pipeline')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return `${lines.join('\n')}\n`;
}

/** Exactly the documented fields, in a fixed order, so the output is a stable contract. */
export function toDiagnosticJson(d: Diagnostic): Diagnostic {
  return {
    file: d.file,
    line: d.line,
    column: d.column,
    endLine: d.endLine,
    endColumn: d.endColumn,
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.hint === undefined ? {} : { hint: d.hint }),
  };
}

export function formatDiagnosticsJson(diagnostics: readonly Diagnostic[], pipelines: number): string {
  return `${JSON.stringify({ pipelines, diagnostics: diagnostics.map(toDiagnosticJson) }, null, 2)}\n`;
}

// https://docs.github.com/actions/reference/workflow-commands-for-github-actions: data escapes
// %, CR and LF; property values additionally escape ':' and ','.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatDiagnosticsGithub(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const properties = [
        `file=${escapeProperty(d.file)}`,
        `line=${d.line}`,
        `col=${d.column}`,
        `endLine=${d.endLine}`,
        `endColumn=${d.endColumn}`,
        `title=${escapeProperty(`dfm ${d.code}`)}`,
      ].join(',');
      return `::${d.severity} ${properties}::${escapeData(d.hint ? `${d.message}\n${d.hint}` : d.message)}\n`;
    })
    .join('');
}
