/**
 * The params of a run: supplied values checked against the pipeline's declared types, defaults
 * filled in. From the CLI and Slack every value arrives as text (`--param limit=10`), so text is
 * converted to the declared type first. Every problem is reported at once.
 */
import { DfmError } from '../lib/errors.js';
import { matchesParamType, type Pipeline } from './pipeline-schema.js';

export function resolveRunParams(pipeline: Pipeline, supplied: Readonly<Record<string, unknown>>, options: { fromText?: boolean } = {}): Record<string, unknown> {
  const problems: string[] = [];
  const resolved: Record<string, unknown> = {};
  for (const name of Object.keys(supplied)) {
    if (!(name in pipeline.params)) {
      const known = Object.keys(pipeline.params);
      problems.push(`unknown param "${name}" (${known.length > 0 ? `declared: ${known.join(', ')}` : 'the pipeline declares no params'})`);
    }
  }
  for (const [name, param] of Object.entries(pipeline.params)) {
    let value = supplied[name];
    if (value === undefined) {
      if (param.default === undefined) problems.push(`param "${name}" is required (${param.type})`);
      else resolved[name] = param.default;
      continue;
    }
    if (options.fromText && typeof value === 'string') value = fromText(param.type, value);
    if (!matchesParamType(param.type, value)) {
      problems.push(`param "${name}" must be ${param.type === 'integer' ? 'an integer' : `a ${param.type}`}, got ${JSON.stringify(supplied[name])}`);
      continue;
    }
    resolved[name] = value;
  }
  if (problems.length > 0) {
    throw new DfmError('RUN_PARAMS_INVALID', `Cannot start ${pipeline.id}: ${problems.join('; ')}`, { details: { problems } });
  }
  return resolved;
}

function fromText(type: string, text: string): unknown {
  switch (type) {
    case 'integer':
    case 'number':
      return text.trim() === '' ? text : Number(text);
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}
