/**
 * The JSON Schema of pipeline YAML (the input side of `pipelineSchema`), for editors: the YAML
 * language server reads it via `# yaml-language-server: $schema=…` or a `yaml.schemas` setting.
 * Rules zod checks in code (cycles, SQL parameters, cron syntax) are not expressible here; `dfm
 * validate` remains the authority.
 */
import { z } from 'zod';
import { pipelineSchema } from './pipeline-schema.js';

export const PIPELINE_SCHEMA_ID = 'https://dfm.dev/schema/pipeline.schema.json';

export function toPipelineJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: PIPELINE_SCHEMA_ID,
    title: 'dfm pipeline',
    ...rest,
    // Top-level `x-…` keys are ignored by dfm (a home for YAML anchors).
    patternProperties: { '^x-': {} },
  };
}

/** The file content of schema/pipeline.schema.json. */
export function renderPipelineJsonSchema(): string {
  return `${JSON.stringify(toPipelineJsonSchema(), null, 2)}\n`;
}
