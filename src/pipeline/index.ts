/**
 * The pipeline language: the pure core behind PR check runs, push sync, Slack, the dashboard, the
 * CLI and the scheduler. No I/O except `loadPipelinesDir`/`loadPipelineFiles` (files); a
 * revision's files come from git/read-pipelines-at-revision.ts.
 *
 * Schema and types
 *   pipelineSchema (zod; input = YAML, output = normalized `Pipeline`), taskSchema,
 *   Pipeline, Task, TaskType, Param, Trigger, PipelineInput.
 *   Output: camelCase, durations in ms (`retryDelayMs`, `timeoutMs`), defaults applied, `tasks` a
 *   list in file order, each `{ id, type, needs, description?, <overrides>, config }`.
 *   taskTypes / getTaskType(type) / taskTypeNames / defineTaskType(...): task types as data.
 *
 * Validation
 *   parsePipelineSource(text, file): { pipeline?, diagnostics }
 *   validatePipelineFiles(files: {file, text}[]): { pipelines: {file, pipeline}[], diagnostics }
 *   loadPipelinesDir(dir, cwd?): Promise<{file, text}[]>     (*.yaml, *.yml, recursive)
 *   Diagnostic = { file, line, column, endLine, endColumn, severity, code, message, hint? } (1-based)
 *
 * Execution helpers
 *   effectiveTaskSettings(pipeline, taskId): { retries, retryDelayMs, retryBackoff, maxRetryDelayMs, timeoutMs }
 *   topologicalOrder(pipeline): string[]; taskGraph(pipeline): { upstream, downstream, roots, leaves }
 *   nextFireTimes(schedule, tz, after, count), previousFireTime(schedule, tz, before),
 *   fireTimesBetween(schedule, tz, from, to) → (from, to], logicalInterval(schedule, tz, fire) → [prev, fire)
 *   sqlParameters(sql), bindSqlParameters(sql) → { text with $1..$n, names }, countStatements(sql)
 *   renderTemplates(value, context), BUILTIN_PARAMETERS
 *
 * Plans
 *   planChange(base files, head files, { now }): PipelinePlan
 *   formatPlanMarkdown(plan) (PR comment, starts with PLAN_COMMENT_MARKER), toMermaid(pipeline, highlight?)
 *   toPlanMarkdownParts(plan) / joinPlanMarkdownParts: the same Markdown in pieces a length limit cuts between
 *   escapeMarkdown(text), inlineCode(text, { inTable? }), fencedBlock(info, body): user text into Markdown
 *
 * Output formats: formatDiagnosticsText / Json / Github; DIAGNOSTIC_CODES lists every code.
 */
export { pipelineSchema, taskSchema, matchesParamType, PARAM_TYPES } from './pipeline-schema.js';
export type { Pipeline, Task, Param, Trigger, PipelineInput, ParamType } from './pipeline-schema.js';
export { taskTypes, taskTypeNames, getTaskType } from './task-types/registry.js';
export type { TaskType } from './task-types/registry.js';
export { defineTaskType } from './task-types/define-task-type.js';
export type { TaskTypeDefinition } from './task-types/define-task-type.js';
export { parsePipelineSource, MAX_PIPELINE_FILE_BYTES, MAX_ALIAS_COUNT } from './parse-pipeline-source.js';
export { validatePipelineFiles, declaredPipelineId } from './validate-pipeline-files.js';
export type { PipelineFile, ValidatedPipelines } from './validate-pipeline-files.js';
export { loadPipelinesDir, loadPipelineFiles } from './load-pipelines-dir.js';
export { sortDiagnostics, hasErrors } from './diagnostic.js';
export type { Diagnostic, Severity } from './diagnostic.js';
export { effectiveTaskSettings, retryDelayMs, BUILTIN_TASK_SETTINGS } from './effective-task-settings.js';
export type { TaskSettings, RetryBackoff } from './effective-task-settings.js';
export { topologicalOrder, taskGraph, findCycles, ancestorsOf } from './dag.js';
export type { TaskGraph } from './dag.js';
export { nextFireTimes, previousFireTime, fireTimesBetween, logicalInterval, checkSchedule, isValidTimeZone, formatInTimeZone, SCHEDULE_NICKNAMES } from './schedule.js';
export { sqlParameters, findSqlParameters, bindSqlParameters, countStatements } from './sql-parameters.js';
export { findTemplateReferences, renderTemplates } from './templates.js';
export type { TemplateContext, TemplateReference } from './templates.js';
export { BUILTIN_PARAMETERS } from './identifiers.js';
export { parseDuration, formatDuration } from './duration.js';
export { planChange, diffValues } from './plan-change.js';
export type { PipelinePlan, PipelineChange, FieldChange, SchedulePreview, ChangeKind, PlanOptions } from './plan-change.js';
export { formatPlanMarkdown, summarizePlan, describePlanCounts, toPlanMarkdownParts, joinPlanMarkdownParts, PLAN_COMMENT_MARKER } from './format-plan.js';
export type { PlanMarkdownParts } from './format-plan.js';
export { escapeMarkdown, inlineCode, fencedBlock } from './escape-markdown.js';
export { toMermaid } from './to-mermaid.js';
export { formatDiagnosticsText, formatDiagnosticsJson, formatDiagnosticsGithub, DIAGNOSTIC_FORMATS } from './format-diagnostics.js';
export { DIAGNOSTIC_CODES } from './diagnostic-codes.js';
export { toPipelineJsonSchema, renderPipelineJsonSchema } from './json-schema.js';
