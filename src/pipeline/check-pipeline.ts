/**
 * Rules across fields of a structurally valid pipeline: `needs` name existing tasks, no cycles,
 * SQL is one statement using only declared params and built-ins, templates reference params,
 * built-ins or upstream tasks. Returns zod custom issues with YAML paths, so they become located
 * diagnostics like every other problem.
 */
import type { IssueParams } from './common-schemas.js';
import { ancestorsOf, findCycles, taskGraph } from './dag.js';
import { BUILTIN_PARAMETERS } from './identifiers.js';
import type { Pipeline } from './pipeline-schema.js';
import { countStatements, findSqlParameters } from './sql-parameters.js';
import { didYouMean, suggestName } from './suggest.js';
import { getTaskType } from './task-types/registry.js';
import { findTemplateReferences } from './templates.js';

export type PipelineIssue = {
  code: 'custom';
  path: (string | number)[];
  message: string;
  /** `offset`/`length` locate the problem inside the string value at `path`. */
  params: IssueParams & { offset?: number; length?: number; target?: 'key' };
};

function issue(path: (string | number)[], code: string, message: string, hint?: string, extra: Partial<PipelineIssue['params']> = {}): PipelineIssue {
  return { code: 'custom', path, message, params: { code, ...(hint === undefined ? {} : { hint }), ...extra } };
}

export function checkPipeline(pipeline: Pipeline): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  const taskIds = pipeline.tasks.map((t) => t.id);
  const known = new Set(taskIds);
  const paramNames = Object.keys(pipeline.params);

  for (const name of paramNames) {
    if ((BUILTIN_PARAMETERS as readonly string[]).includes(name)) {
      issues.push(issue(['params', name], 'invalid-param-name', `Param "${name}" has the name of a built-in`, `Rename it; ${BUILTIN_PARAMETERS.join(', ')} are supplied by dfm`, { target: 'key' }));
    }
  }

  // Scheduled and Kafka-triggered runs start with no params given, so every param needs a default
  // (a webhook's body supplies params, so a webhook trigger alone does not).
  if (pipeline.schedule !== undefined || pipeline.triggers.some((t) => t.type === 'kafka')) {
    const starter = pipeline.schedule !== undefined ? 'the schedule' : 'the trigger';
    for (const [name, param] of Object.entries(pipeline.params)) {
      if (param.required) {
        issues.push(issue(['params', name], 'required-param-scheduled', `Param "${name}" has no default, but runs started by ${starter} get no params`, `Give "${name}" a default, or remove "${pipeline.schedule !== undefined ? 'schedule' : 'triggers'}" and start runs with dfm run --param ${name}=…`, { target: 'key' }));
      }
    }
  }

  for (const task of pipeline.tasks) {
    task.needs.forEach((need, index) => {
      if (!known.has(need)) {
        issues.push(issue(['tasks', task.id, 'needs', index], 'unknown-need', `Task "${task.id}" needs "${need}", which is not a task of this pipeline`, didYouMean(need, taskIds.filter((id) => id !== task.id), 'Tasks')));
      } else if (task.needs.indexOf(need) !== index) {
        issues.push(issue(['tasks', task.id, 'needs', index], 'duplicate-need', `Task "${task.id}" lists "${need}" twice in needs`, 'Remove the repeated entry'));
      }
    });
  }

  for (const cycle of findCycles(pipeline)) {
    const [first, second] = cycle;
    const task = pipeline.tasks.find((t) => t.id === first)!;
    issues.push(issue(['tasks', first!, 'needs', task.needs.indexOf(second!)], 'cycle', `Cycle in task dependencies: ${cycle.join(' → ')}`, 'Remove one of these needs so the tasks can run in order'));
  }

  const graph = taskGraph(pipeline);
  const allowedSql = new Set<string>([...BUILTIN_PARAMETERS, ...paramNames]);
  for (const task of pipeline.tasks) {
    const definition = getTaskType(task.type);
    if (definition === undefined) continue;
    const base = ['tasks', task.id];
    for (const field of definition.sql?.(task.config) ?? []) {
      const statements = countStatements(field.text);
      if (statements === 0) {
        issues.push(issue([...base, ...field.path], 'empty-sql', 'This SQL has no statement', 'Write one SQL statement'));
      } else if (statements > 1) {
        issues.push(issue([...base, ...field.path], 'multiple-statements', `Found ${statements} SQL statements where one is allowed`, task.type === 'postgres.sql' ? 'Give each statement its own list entry under "sql"' : 'Use one statement; run others in a postgres.sql task upstream'));
      }
      const allowed = task.type === 'postgres.to_kafka' && task.config.incremental !== undefined ? new Set([...allowedSql, 'cursor']) : allowedSql;
      for (const use of findSqlParameters(field.text)) {
        if (allowed.has(use.name)) continue;
        const match = suggestName(use.name, allowed);
        issues.push(
          issue([...base, ...field.path], 'unknown-sql-param', `SQL parameter ":${use.name}" is neither a declared param nor a built-in`, match ? `Did you mean ":${match}"? Or declare it under "params"` : `Declare "${use.name}" under "params", or use a built-in: ${BUILTIN_PARAMETERS.join(', ')}`, { offset: use.offset, length: use.length }),
        );
      }
    }
    const ancestors = ancestorsOf(graph, task.id);
    for (const field of definition.templated?.(task.config) ?? []) {
      for (const reference of findTemplateReferences(field.value, [...base, ...field.path])) {
        const at = reference.path;
        if (reference.kind === 'invalid') {
          issues.push(issue(at, 'invalid-template', `Template "{{ ${reference.expression} }}" is not supported`, `Use {{ params.<name> }}, {{ tasks.<id>.output.<field> }}, {{ trigger.body }} or a built-in: ${BUILTIN_PARAMETERS.join(', ')}`));
        } else if (reference.kind === 'param' && !paramNames.includes(reference.name)) {
          issues.push(issue(at, 'unknown-template-param', `Template uses param "${reference.name}", which is not declared`, didYouMean(reference.name, paramNames, 'Declared params')));
        } else if (reference.kind === 'task' && !ancestors.has(reference.taskId)) {
          issues.push(
            issue(at, 'template-not-upstream', known.has(reference.taskId) ? `Template uses the output of "${reference.taskId}", which is not upstream of "${task.id}"` : `Template uses the output of "${reference.taskId}", which is not a task of this pipeline`, known.has(reference.taskId) ? `Add "${reference.taskId}" to the needs of "${task.id}"` : didYouMean(reference.taskId, [...ancestors], 'Upstream tasks')),
          );
        }
      }
    }
  }
  return issues;
}
