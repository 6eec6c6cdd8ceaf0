/**
 * Validates a set of pipeline files together: each file on its own, then the rules across files
 * (pipeline ids are unique in a repository).
 */
import { parseDocument, isMap, isScalar } from 'yaml';
import { sortDiagnostics, type Diagnostic } from './diagnostic.js';
import { checkWebhookSecrets } from './check-webhook-secrets.js';
import { parsePipelineSource } from './parse-pipeline-source.js';
import type { Pipeline } from './pipeline-schema.js';
import { lineCounterFor, locatePath, toPosition } from './yaml-locate.js';

export interface PipelineFile {
  file: string;
  text: string;
}

export interface ValidatedPipelines {
  /** Pipelines without errors (warnings allowed), in file order. A duplicated id keeps the first file. */
  pipelines: { file: string; pipeline: Pipeline }[];
  diagnostics: Diagnostic[];
}

/** An error located at the file's `id` value (the file's start when it has none). */
export function idDiagnostic(file: PipelineFile, message: string, hint: string, code = 'duplicate-id'): Diagnostic {
  const lineCounter = lineCounterFor(file.text);
  const doc = parseDocument(file.text, { uniqueKeys: false });
  const position = toPosition(lineCounter, file.text, locatePath(doc, file.text, ['id']));
  return { file: file.file, ...position, severity: 'error', code, message, hint };
}

export interface ValidationOptions {
  /** Webhook secret names configured here, and whether a missing one is an error (a sync) or a warning (`dfm validate`). */
  readonly webhookSecrets?: { readonly known: ReadonlySet<string>; readonly severity: Diagnostic['severity'] };
}

export function validatePipelineFiles(files: readonly PipelineFile[], options: ValidationOptions = {}): ValidatedPipelines {
  const ordered = [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const diagnostics: Diagnostic[] = [];
  const pipelines: ValidatedPipelines['pipelines'] = [];
  const firstFileOfId = new Map<string, string>();
  for (const file of ordered) {
    const result = parsePipelineSource(file.text, file.file);
    diagnostics.push(...result.diagnostics);
    if (result.pipeline === undefined) continue;
    if (options.webhookSecrets !== undefined) {
      const secrets = checkWebhookSecrets(file, result.pipeline, options.webhookSecrets.known, options.webhookSecrets.severity);
      diagnostics.push(...secrets);
      if (secrets.some((d) => d.severity === 'error')) continue;
    }
    const id = result.pipeline.id;
    const first = firstFileOfId.get(id);
    if (first !== undefined) {
      diagnostics.push(idDiagnostic(file, `Pipeline id "${id}" is already used by ${first}`, 'Pipeline ids must be unique in the repository; rename one of them'));
      continue;
    }
    firstFileOfId.set(id, file.file);
    pipelines.push({ file: file.file, pipeline: result.pipeline });
  }
  return { pipelines, diagnostics: sortDiagnostics(diagnostics) };
}

/** The `id` a file declares, even when the file has other errors (plans use it to match files). */
export function declaredPipelineId(text: string): string | undefined {
  try {
    const doc = parseDocument(text, { uniqueKeys: false });
    if (!isMap(doc.contents)) return undefined;
    const id = doc.contents.get('id', true);
    return isScalar(id) && typeof id.value === 'string' ? id.value : undefined;
  } catch {
    return undefined;
  }
}
