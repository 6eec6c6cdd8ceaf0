/**
 * Finds the zod schema that validates the value at a data path, so diagnostics can list the
 * fields an object knows ("did you mean …") and the shapes a union accepts. It reads zod 4's
 * public `def` of each schema; discriminated unions are followed by the data's discriminator.
 */
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;
type Def = { type: string; [key: string]: unknown };

const defOf = (schema: AnySchema): Def => schema._zod.def as unknown as Def;

/** Strips wrappers that do not change the shape: optional, default, pipe (input side), … */
export function unwrapSchema(schema: AnySchema): AnySchema {
  let current = schema;
  for (let i = 0; i < 50; i++) {
    const def = defOf(current);
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) current = def.innerType as AnySchema;
    else if (def.type === 'pipe') current = def.in as AnySchema;
    else if (def.type === 'lazy') current = (def.getter as () => AnySchema)();
    else return current;
  }
  return current;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The union member that fits the data best: by discriminator, else by the data's kind. */
function pickOption(union: AnySchema, data: unknown): AnySchema | undefined {
  const def = defOf(union);
  const options = (def.options as AnySchema[]).map(unwrapSchema);
  if (typeof def.discriminator === 'string' && data !== null && typeof data === 'object') {
    const value = (data as Record<string, unknown>)[def.discriminator];
    return options.find((o) => {
      const shape = (defOf(o).shape ?? {}) as Record<string, AnySchema>;
      const literal = shape[def.discriminator as string];
      return literal !== undefined && ((defOf(unwrapSchema(literal)).values as unknown[]) ?? []).includes(value);
    });
  }
  const kind = kindOf(data);
  return options.find((o) => schemaKinds(o).includes(kind));
}

/** The JS kinds a schema accepts: 'string', 'number', 'boolean', 'array', 'object', 'null'. */
export function schemaKinds(schema: AnySchema): string[] {
  const inner = unwrapSchema(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'object':
    case 'record':
      return ['object'];
    case 'array':
      return ['array'];
    case 'union':
      return (def.options as AnySchema[]).flatMap(schemaKinds);
    case 'literal':
      return (def.values as unknown[]).map(kindOf);
    case 'enum':
      return ['string'];
    case 'int':
      return ['number'];
    default:
      return [def.type];
  }
}

export function schemaAt(root: AnySchema, data: unknown, path: readonly (string | number)[]): AnySchema | undefined {
  let schema: AnySchema | undefined = unwrapSchema(root);
  let value = data;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    let def = defOf(schema);
    if (def.type === 'union') {
      schema = pickOption(schema, value);
      if (schema === undefined) return undefined;
      def = defOf(schema);
    }
    if (def.type === 'object') schema = (def.shape as Record<string, AnySchema>)[String(segment)];
    else if (def.type === 'record') schema = def.valueType as AnySchema;
    else if (def.type === 'array') schema = def.element as AnySchema;
    else return undefined;
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment as string] : undefined;
    if (schema !== undefined) schema = unwrapSchema(schema);
  }
  if (schema !== undefined && defOf(schema).type === 'union' && typeof defOf(schema).discriminator === 'string') return pickOption(schema, value) ?? schema;
  return schema;
}

/** The field names of the object schema at `path`, or [] when it is not an object. */
export function knownFieldsAt(root: AnySchema, data: unknown, path: readonly (string | number)[]): string[] {
  const schema = schemaAt(root, data, path);
  if (schema === undefined) return [];
  const def = defOf(schema);
  return def.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}
