/**
 * Warnings: things that are valid but probably not what the author meant. They never block a
 * merge or a sync.
 */
import type { Diagnostic } from './diagnostic.js';
import type { IssueContext } from './issue-to-diagnostics.js';
import type { Pipeline } from './pipeline-schema.js';
import { sqlParameters } from './sql-parameters.js';
import { getTaskType } from './task-types/registry.js';
import { findTemplateReferences } from './templates.js';
import { locatePath, toPosition } from './yaml-locate.js';

export function lintPipeline(pipeline: Pipeline, context: Omit<IssueContext, 'schema'>): Diagnostic[] {
  const warnings: Diagnostic[] = [];
  const warn = (path: (string | number)[], code: string, message: string, hint: string, target: 'key' | 'value' = 'value') =>
    warnings.push({ file: context.file, ...toPosition(context.lineCounter, context.text, locatePath(context.doc, context.text, path, target)), severity: 'warning', code, message, hint });

  const used = new Set<string>();
  for (const task of pipeline.tasks) {
    const definition = getTaskType(task.type);
    for (const field of definition?.sql?.(task.config) ?? []) for (const name of sqlParameters(field.text)) used.add(name);
    for (const field of definition?.templated?.(task.config) ?? []) {
      for (const reference of findTemplateReferences(field.value)) if (reference.kind === 'param') used.add(reference.name);
    }
  }
  for (const name of Object.keys(pipeline.params)) {
    if (!used.has(name)) warn(['params', name], 'unused-param', `Param "${name}" is not used by any task`, `Use it as :${name} in SQL or {{ params.${name} }} in a template, or remove it`, 'key');
  }
  if (pipeline.schedule === undefined && pipeline.catchup !== 'none') {
    warn(['catchup'], 'catchup-without-schedule', `"catchup: ${pipeline.catchup}" has no effect without a schedule`, 'Add a schedule or remove catchup');
  }
  return warnings;
}
