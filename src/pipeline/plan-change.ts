/**
 * The semantic change between two revisions of a repository's pipelines, for the PR comment, the
 * check run and `dfm plan`. Pure: files in, plan out; `now` anchors the fire-time previews.
 *
 * Identity is the pipeline `id`, not the file: the same id in another file is a rename (history
 * kept); a new id is a new pipeline even in the same file.
 */
import { sortDiagnostics, type Diagnostic } from './diagnostic.js';
import { formatDuration } from './duration.js';
import type { Pipeline, Task } from './pipeline-schema.js';
import { formatInTimeZone, nextFireTimes } from './schedule.js';
import { toMermaid } from './to-mermaid.js';
import { declaredPipelineId, validatePipelineFiles, type PipelineFile } from './validate-pipeline-files.js';

export interface FieldChange {
  /** YAML-style path, e.g. `schedule`, `defaults.retry_delay`, `params.min_readings.default`, `sql`. */
  field: string;
  /** Display text (durations as `30s`), or undefined when absent on that side. */
  before: string | undefined;
  after: string | undefined;
}

export interface SchedulePreview {
  schedule: string;
  timezone: string;
  /** Next fire times after `now`, ISO-8601 in the pipeline's timezone (`2025-03-30T03:00:00+02:00`). */
  nextFireTimes: string[];
}

export type ChangeKind = 'added' | 'removed' | 'changed' | 'renamed' | 'invalid';

export interface PipelineChange {
  kind: ChangeKind;
  id: string;
  /** The head file; for `removed`, the base file. */
  file: string;
  /** For `renamed`: the base file. */
  previousFile?: string;
  fields: FieldChange[];
  tasks: { added: string[]; removed: string[]; changed: { id: string; fields: FieldChange[] }[] };
  /** `[upstream, downstream]` pairs. */
  edges: { added: [string, string][]; removed: [string, string][] };
  /** Present when the schedule or timezone is new or changed (or removed: `after` absent). */
  schedule?: { before?: SchedulePreview; after?: SchedulePreview };
  /** The head DAG, for added, changed and renamed pipelines. */
  mermaid?: string;
  taskCount?: number;
}

export interface PipelinePlan {
  now: string;
  summary: { added: number; removed: number; changed: number; renamed: number; invalid: number; unchanged: number; errors: number; warnings: number };
  pipelines: PipelineChange[];
  /** Validation diagnostics of the head revision. */
  diagnostics: Diagnostic[];
}

export interface PlanOptions {
  now: Date;
  /** Fire times previewed per schedule. Default 5. */
  fireTimes?: number;
}

const USER_KEYED = new Set(['params', 'columns', 'headers']);

function displayPath(path: readonly string[]): string {
  return path
    .filter((segment, index) => !(segment === 'config' && index === 0))
    .map((segment, index, all) => {
      if (index > 0 && USER_KEYED.has(all[index - 1]!)) return segment;
      return segment.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    })
    .join('.');
}

function displayValue(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && key.endsWith('Ms')) return formatDuration(value);
  if (typeof value === 'string') return value;
  // Lists of SQL statements read best as text, so the PR comment can show a line diff.
  if (Array.isArray(value) && value.every((v) => typeof v === 'string') && value.some((v) => v.includes('\n'))) return value.map((v) => v.trimEnd()).join('\n\n');
  return JSON.stringify(value);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Leaf-level differences; lists compare whole (a list is one value to a reader). */
export function diffValues(before: unknown, after: unknown, path: string[] = [], skip: ReadonlySet<string> = new Set()): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.filter((k) => !(path.length === 0 && skip.has(k))).flatMap((k) => diffValues(before[k], after[k], [...path, k]));
  }
  if (sameValue(before, after)) return [];
  if (isPlainObject(before) || isPlainObject(after)) {
    // One side is absent or not a mapping: show each leaf of the other side.
    const source = isPlainObject(after) ? after : (before as Record<string, unknown>);
    const keys = Object.keys(source);
    if (keys.length > 0 && (before === undefined || after === undefined)) {
      return keys.flatMap((k) => diffValues(isPlainObject(before) ? before[k] : undefined, isPlainObject(after) ? after[k] : undefined, [...path, k]));
    }
  }
  const key = path[path.length - 1] ?? '';
  return [{ field: displayPath(path), before: displayValue(key, before), after: displayValue(key, after) }];
}

const edgesOf = (pipeline: Pipeline): [string, string][] => pipeline.tasks.flatMap((t) => t.needs.map((n): [string, string] => [n, t.id]));
const edgeKey = ([a, b]: [string, string]) => `${a}\u0000${b}`;

function previewOf(pipeline: Pipeline, now: Date, count: number): SchedulePreview | undefined {
  if (pipeline.schedule === undefined) return undefined;
  return {
    schedule: pipeline.schedule,
    timezone: pipeline.timezone,
    nextFireTimes: nextFireTimes(pipeline.schedule, pipeline.timezone, now, count).map((d) => formatInTimeZone(d, pipeline.timezone)),
  };
}

function taskFields(before: Task, after: Task): FieldChange[] {
  const { id: _a, needs: _b, config: configBefore, ...restBefore } = before;
  const { id: _c, needs: _d, config: configAfter, ...restAfter } = after;
  return [...diffValues(restBefore, restAfter), ...diffValues(configBefore, configAfter)];
}

function comparePipelines(before: Pipeline, after: Pipeline): Pick<PipelineChange, 'fields' | 'tasks' | 'edges'> {
  const fields = diffValues(before, after, [], new Set(['id', 'tasks']));
  const beforeTasks = new Map(before.tasks.map((t) => [t.id, t]));
  const afterTasks = new Map(after.tasks.map((t) => [t.id, t]));
  const tasks = {
    added: after.tasks.filter((t) => !beforeTasks.has(t.id)).map((t) => t.id),
    removed: before.tasks.filter((t) => !afterTasks.has(t.id)).map((t) => t.id),
    changed: after.tasks
      .filter((t) => beforeTasks.has(t.id))
      .map((t) => ({ id: t.id, fields: taskFields(beforeTasks.get(t.id)!, t) }))
      .filter((t) => t.fields.length > 0),
  };
  const beforeEdges = new Set(edgesOf(before).map(edgeKey));
  const afterEdges = new Set(edgesOf(after).map(edgeKey));
  const edges = {
    added: edgesOf(after).filter((e) => !beforeEdges.has(edgeKey(e))),
    removed: edgesOf(before).filter((e) => !afterEdges.has(edgeKey(e))),
  };
  return { fields, tasks, edges };
}

const isEmptyChange = (c: Pick<PipelineChange, 'fields' | 'tasks' | 'edges'>) =>
  c.fields.length === 0 && c.tasks.added.length === 0 && c.tasks.removed.length === 0 && c.tasks.changed.length === 0 && c.edges.added.length === 0 && c.edges.removed.length === 0;

const noChange = () => ({ fields: [], tasks: { added: [], removed: [], changed: [] }, edges: { added: [], removed: [] } });

export function planChange(baseFiles: readonly PipelineFile[], headFiles: readonly PipelineFile[], options: PlanOptions): PipelinePlan {
  const count = options.fireTimes ?? 5;
  const base = validatePipelineFiles(baseFiles);
  const head = validatePipelineFiles(headFiles);
  const baseById = new Map(base.pipelines.map((p) => [p.pipeline.id, p]));
  const headById = new Map(head.pipelines.map((p) => [p.pipeline.id, p]));
  // Head files that fail validation still name an id: report them as invalid, not as removed.
  const invalidHead = new Map<string, string>();
  const validHeadFiles = new Set(head.pipelines.map((p) => p.file));
  for (const file of headFiles) {
    if (validHeadFiles.has(file.file)) continue;
    const id = declaredPipelineId(file.text);
    if (id !== undefined && !headById.has(id) && !invalidHead.has(id)) invalidHead.set(id, file.file);
  }

  const changes: PipelineChange[] = [];
  let unchanged = 0;
  for (const { file, pipeline } of head.pipelines) {
    const previous = baseById.get(pipeline.id);
    const mermaidOf = (added: string[] = [], changed: string[] = []) => toMermaid(pipeline, { added, changed });
    if (previous === undefined) {
      const after = previewOf(pipeline, options.now, count);
      changes.push({ kind: 'added', id: pipeline.id, file, ...noChange(), ...(after ? { schedule: { after } } : {}), mermaid: mermaidOf(), taskCount: pipeline.tasks.length });
      continue;
    }
    const change = comparePipelines(previous.pipeline, pipeline);
    const renamed = previous.file !== file;
    if (!renamed && isEmptyChange(change)) {
      unchanged++;
      continue;
    }
    const scheduleChanged = previous.pipeline.schedule !== pipeline.schedule || (pipeline.schedule !== undefined && previous.pipeline.timezone !== pipeline.timezone);
    const before = previewOf(previous.pipeline, options.now, count);
    const after = previewOf(pipeline, options.now, count);
    changes.push({
      kind: renamed ? 'renamed' : 'changed',
      id: pipeline.id,
      file,
      ...(renamed ? { previousFile: previous.file } : {}),
      ...change,
      ...(scheduleChanged ? { schedule: { ...(before ? { before } : {}), ...(after ? { after } : {}) } } : {}),
      mermaid: mermaidOf(change.tasks.added, change.tasks.changed.map((t) => t.id)),
      taskCount: pipeline.tasks.length,
    });
  }
  for (const { file, pipeline } of base.pipelines) {
    if (headById.has(pipeline.id)) continue;
    const invalidFile = invalidHead.get(pipeline.id);
    if (invalidFile !== undefined) changes.push({ kind: 'invalid', id: pipeline.id, file: invalidFile, ...noChange() });
    else changes.push({ kind: 'removed', id: pipeline.id, file, ...noChange() });
  }
  for (const [id, file] of invalidHead) {
    if (!baseById.has(id)) changes.push({ kind: 'invalid', id, file, ...noChange() });
  }

  const order: Record<ChangeKind, number> = { invalid: 0, added: 1, changed: 2, renamed: 3, removed: 4 };
  changes.sort((a, b) => order[a.kind] - order[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const diagnostics = sortDiagnostics(head.diagnostics);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const countOf = (kind: ChangeKind) => changes.filter((c) => c.kind === kind).length;
  return {
    now: options.now.toISOString(),
    summary: {
      added: countOf('added'),
      removed: countOf('removed'),
      changed: countOf('changed'),
      renamed: countOf('renamed'),
      invalid: countOf('invalid'),
      unchanged,
      errors,
      warnings: diagnostics.length - errors,
    },
    pipelines: changes,
    diagnostics,
  };
}
