/**
 * Turns zod issues into located diagnostics with stable codes and fix hints. Custom issues carry
 * their code in `params.code`; zod's own issue kinds map to codes here:
 *   unrecognized_keys → unknown-field, invalid_type → invalid-type / missing-field,
 *   discriminator miss → unknown-task-type, invalid_value and ranges → invalid-value.
 */
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { describeValue } from './common-schemas.js';
import type { Diagnostic } from './diagnostic.js';
import { knownFieldsAt, schemaAt, schemaKinds } from './schema-walk.js';
import { didYouMean, suggestName } from './suggest.js';
import { locateInString, locatePath, toPosition, type SourceSpan } from './yaml-locate.js';

export interface IssueContext {
  file: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  data: unknown;
  schema: z.core.$ZodType;
}

type Path = (string | number)[];
type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment as string];
  }
  return current;
}

/** `task "load"`, `param "day"`, `defaults`, `the pipeline`: where a field sits, for messages. */
export function describeOwner(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the pipeline';
  if (path[0] === 'tasks' && path.length >= 2) {
    const task = `task "${path[1]}"`;
    const rest = path.slice(2);
    return rest.length === 0 ? task : `"${rest.join('.')}" of ${task}`;
  }
  if (path[0] === 'params' && path.length === 2) return `param "${path[1]}"`;
  return `"${path.join('.')}"`;
}

const fieldName = (path: readonly (string | number)[]): string => {
  const last = path[path.length - 1];
  return typeof last === 'number' ? `${String(path[path.length - 2] ?? '')}[${last}]` : String(last ?? 'document');
};

const KIND_NAMES: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  null: 'null',
  literal: 'a fixed value',
};

function kindName(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

function gotName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value === 'string' ? 'the string' : typeof value === 'number' ? 'the number' : 'the value'} ${describeValue(value)}`;
}

const isZodDefaultMessage = (message: string) => /^(Invalid input|Invalid option|Too (small|big)|Invalid string|Invalid (element|key)|Invalid number|Unrecognized key)/.test(message);

export function issueToDiagnostics(issue: Issue, context: IssueContext, prefix: Path = []): Diagnostic[] {
  const path: Path = [...prefix, ...(issue.path as Path)];
  const make = (code: string, message: string, span: SourceSpan, hint?: string): Diagnostic => ({
    file: context.file,
    ...toPosition(context.lineCounter, context.text, span),
    severity: 'error',
    code,
    message,
    ...(hint === undefined ? {} : { hint }),
  });
  const at = (target: 'value' | 'key' = 'value') => locatePath(context.doc, context.text, path, target);
  const value = valueAt(context.data, path);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownFieldsAt(context.schema, context.data, path);
      return issue.keys.map((key) =>
        make('unknown-field', `Unknown field "${key}" in ${describeOwner(path)}`, locatePath(context.doc, context.text, [...path, key], 'key'), known.length > 0 ? didYouMean(key, known, 'Known fields') : undefined),
      );
    }
    case 'invalid_type': {
      if (value === undefined) {
        const name = fieldName(path);
        return [make('missing-field', `Missing required field "${name}" in ${describeOwner(path.slice(0, -1))}`, at(), `Add "${name}: …"`)];
      }
      const message = isZodDefaultMessage(issue.message) ? `"${fieldName(path)}" must be ${kindName(issue.expected)}, got ${gotName(value)}` : issue.message;
      return [make('invalid-type', message, at())];
    }
    case 'invalid_union': {
      const union = issue as typeof issue & { note?: string; discriminator?: string };
      if (union.note === 'No matching discriminator' && union.discriminator === 'type') {
        const taskPath = path[path.length - 1] === 'type' ? path.slice(0, -1) : path;
        const type = valueAt(context.data, [...taskPath, 'type']);
        const options = ((issue as unknown as { options?: unknown[] }).options ?? []).map(String);
        if (type === undefined) {
          return [make('missing-field', `Task "${String(taskPath[taskPath.length - 1])}" has no "type"`, locatePath(context.doc, context.text, taskPath), `Add "type:" with one of: ${options.join(', ')}`)];
        }
        if (typeof type !== 'string') {
          return [make('invalid-type', `Task type must be a string, got ${gotName(type)}`, locatePath(context.doc, context.text, [...taskPath, 'type']), `Use one of: ${options.join(', ')}`)];
        }
        return [make('unknown-task-type', `Unknown task type "${type}"`, locatePath(context.doc, context.text, [...taskPath, 'type']), didYouMean(type, options, 'Task types'))];
      }
      // Explain the branch whose shape matches what was written (e.g. the list branch for a list).
      const schema = schemaAt(context.schema, context.data, path);
      const branches = schema ? ((schema._zod.def as unknown as { options?: z.core.$ZodType[] }).options ?? []) : [];
      const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      const index = branches.findIndex((b) => schemaKinds(b).includes(kind));
      const branchIssues = index >= 0 ? issue.errors[index] : undefined;
      if (branchIssues && branchIssues.length > 0) return branchIssues.flatMap((inner) => issueToDiagnostics(inner, context, path));
      const expected = [...new Set(branches.flatMap(schemaKinds))].map(kindName);
      return [make('invalid-type', `"${fieldName(path)}" must be ${expected.length > 0 ? expected.join(' or ') : 'something else'}, got ${gotName(value)}`, at())];
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const hint = typeof value === 'string' && suggestName(value, allowed) ? didYouMean(value, allowed) : `Use one of: ${allowed.join(', ')}`;
      return [make('invalid-value', `Invalid value ${describeValue(value)} for "${fieldName(path)}"`, at(), hint)];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const name = fieldName(path);
      let message: string;
      if (issue.origin === 'array') message = issue.code === 'too_small' ? (Number(bound) <= 1 ? `"${name}" must not be empty` : `"${name}" needs at least ${bound} entries`) : `"${name}" allows at most ${bound} entries`;
      else if (issue.origin === 'string') message = issue.code === 'too_small' ? `"${name}" must not be empty` : `"${name}" is longer than ${bound} characters`;
      else message = `"${name}" must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound}, got ${describeValue(value)}`;
      return [make('invalid-value', message, at())];
    }
    case 'invalid_format': {
      const pattern = (issue as { pattern?: string }).pattern;
      return [make('invalid-value', `Invalid value ${describeValue(value)} for "${fieldName(path)}"`, at(), pattern ? `It must match ${pattern}` : undefined)];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const params = (inner as { params?: { code?: string; hint?: string } } | undefined)?.params;
      return [make(params?.code ?? 'invalid-value', inner && !isZodDefaultMessage(inner.message) ? inner.message : `Invalid name "${String(path[path.length - 1])}"`, at('key'), params?.hint)];
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { code?: string; hint?: string; offset?: number; length?: number; target?: 'key' };
      const span =
        params.offset !== undefined && params.length !== undefined ? locateInString(context.doc, context.text, path, params.offset, params.length) : at(params.target ?? 'value');
      return [make(params.code ?? 'invalid-value', issue.message, span, params.hint)];
    }
    default:
      return [make('invalid-value', `Invalid value ${describeValue(value)} for "${fieldName(path)}": ${issue.message}`, at())];
  }
}
