/**
 * `{{ … }}` templates in task values (kafka.produce messages): `{{ params.name }}`, a built-in such
 * as `{{ logical_time }}`, `{{ tasks.<id>.output.<field> }}` of an upstream task, or the webhook
 * delivery's body `{{ trigger.body }}` (`{{ trigger.body.<field>… }}` for a part of it). Nothing else
 * is evaluated — no expressions, no filters — so a template can never run code.
 */
import { BUILTIN_PARAMETERS } from './identifiers.js';

const TEMPLATE = /\{\{\s*(.*?)\s*\}\}/g;
const PARAM_REF = /^params\.([a-z_][a-z0-9_]*)$/;
const TRIGGER_REF = /^trigger\.body((?:\.[A-Za-z0-9_-]+)*)$/;
const TASK_REF = /^tasks\.([a-z][a-z0-9_-]*)\.output((?:\.[A-Za-z0-9_]+)+)$/;

export type TemplateReference =
  | { kind: 'param'; name: string; expression: string; path: (string | number)[] }
  | { kind: 'builtin'; name: string; expression: string; path: (string | number)[] }
  | { kind: 'trigger'; field: string[]; expression: string; path: (string | number)[] }
  | { kind: 'task'; taskId: string; field: string[]; expression: string; path: (string | number)[] }
  | { kind: 'invalid'; expression: string; path: (string | number)[] };

function classify(expression: string, path: (string | number)[]): TemplateReference {
  const param = PARAM_REF.exec(expression);
  if (param) return { kind: 'param', name: param[1]!, expression, path };
  if ((BUILTIN_PARAMETERS as readonly string[]).includes(expression)) return { kind: 'builtin', name: expression, expression, path };
  const trigger = TRIGGER_REF.exec(expression);
  if (trigger) return { kind: 'trigger', field: trigger[1] === '' ? [] : trigger[1]!.slice(1).split('.'), expression, path };
  const task = TASK_REF.exec(expression);
  if (task) return { kind: 'task', taskId: task[1]!, field: task[2]!.slice(1).split('.'), expression, path };
  return { kind: 'invalid', expression, path };
}

/** Every template in strings anywhere inside `value`, with the path of the string holding it. */
export function findTemplateReferences(value: unknown, path: (string | number)[] = []): TemplateReference[] {
  if (typeof value === 'string') {
    return [...value.matchAll(TEMPLATE)].map((m) => classify(m[1]!, path));
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => findTemplateReferences(item, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => findTemplateReferences(item, [...path, key]));
  }
  return [];
}

export interface TemplateContext {
  params: Readonly<Record<string, unknown>>;
  builtins: Readonly<Record<string, unknown>>;
  /** Outputs of finished upstream tasks, by task id. */
  taskOutputs: Readonly<Record<string, unknown>>;
  /** The webhook delivery's JSON body (undefined for runs not started by a webhook). */
  triggerBody?: unknown;
}

const pick = (value: unknown, field: readonly string[]): unknown => {
  let current = value;
  for (const key of field) current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined;
  return current;
};

function resolve(reference: TemplateReference, context: TemplateContext): unknown {
  switch (reference.kind) {
    case 'param':
      return context.params[reference.name];
    case 'builtin':
      return context.builtins[reference.name];
    case 'trigger':
      return pick(context.triggerBody, reference.field);
    case 'task':
      return pick(context.taskOutputs[reference.taskId], reference.field);
    case 'invalid':
      throw new Error(`Unsupported template {{ ${reference.expression} }}`);
  }
}

const toText = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value ?? '');

/**
 * Substitutes templates. A string that is exactly one template takes the referenced value as is
 * (a number stays a number); templates inside longer text are converted to text.
 */
export function renderTemplates(value: unknown, context: TemplateContext): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*(.*?)\s*\}\}$/.exec(value);
    if (whole && !whole[1]!.includes('}}')) return resolve(classify(whole[1]!, []), context);
    return value.replace(TEMPLATE, (_, expression: string) => toText(resolve(classify(expression, []), context)));
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplates(item, context));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplates(item, context)]));
  }
  return value;
}
