/**
 * Turns a Kafka record's JSON value into the text of each target column, or says why it cannot:
 * malformed JSON, a value that does not fit its column's type, a missing key field. Pure, so the
 * rules are unit-tested; the writer COPYs the text, and PostgreSQL parses it once more (or, when
 * every column's type allows, copy-binary.ts encodes these values in PostgreSQL's binary format).
 *
 * The checks here are what keeps one bad record from failing a COPY of 10,000: a value PostgreSQL
 * would reject is caught before it reaches the batch, with PostgreSQL's words where it has them.
 * (What slips through — text too long for a varchar(n) column, a CHECK constraint — fails the
 * batch's COPY, and the writer then finds the culprit row by row.)
 */
import type { COLUMN_TYPES } from '../../pipeline/task-types/kafka-to-postgres.js';
import { parseTimestampText, timestampError, TimestampCheck } from './parse-timestamp.js';

export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnPlan {
  /** Target column. */
  readonly name: string;
  /** Path in the JSON value; empty means the whole value. */
  readonly path: readonly string[];
  readonly type: ColumnType;
  /** Upsert key columns must be present. */
  readonly key: boolean;
  /**
   * A column that is NOT NULL and has no default, mapped by name (no `columns`): a record without
   * the field is a dead letter that names the column, rather than a COPY PostgreSQL refuses.
   */
  readonly notNull?: boolean;
}

/** Why a record lacks a field its column cannot do without (a key, or NOT NULL without a default). */
export function missingFieldError(column: ColumnPlan): string {
  return column.key ? `key field "${column.path.join('.')}" is missing or null` : `field "${column.path.join('.')}" is missing or null, and column ${column.name} is NOT NULL without a default`;
}

export type Decoded = { readonly ok: true; readonly values: (string | null)[] } | { readonly ok: false; readonly error: string };

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d{1,20}$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A decimal text whose digits before any exponent are not all zeros. */
const NON_ZERO_MANTISSA = /^[^eE]*[1-9]/;
export function decodeRecord(value: Buffer | null, columns: readonly ColumnPlan[]): Decoded {
  if (value === null) return { ok: false, error: 'the record has no value (a tombstone)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, error: `malformed JSON: ${(error as Error).message}` };
  }
  const values: (string | null)[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    let field: unknown = parsed;
    if (column.path.length > 0) {
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return { ok: false, error: `expected a JSON object, got ${describe(parsed)}` };
      }
      for (const part of column.path) field = field !== null && typeof field === 'object' && !Array.isArray(field) ? (field as Record<string, unknown>)[part] : undefined;
    }
    if (field === undefined || field === null) {
      if (column.key || column.notNull === true) return { ok: false, error: missingFieldError(column) };
      values[i] = null;
      continue;
    }
    const text = toColumnText(field, column.type);
    if (typeof text !== 'string') return { ok: false, error: `field "${column.path.join('.') || '(value)'}" → column ${column.name} (${column.type}): ${text.error}` };
    values[i] = text;
  }
  return { ok: true, values };
}

/** Why a record cannot be written (it becomes a dead letter). */
export interface DecodeFailure {
  readonly error: string;
}

/**
 * The hot path of kafka.to_postgres: decodeRecord + toCopyLine in one pass, compiled once per
 * column plan. Returns the record's COPY line (ending in a newline) or why it cannot be written,
 * with exactly decodeRecord's rules and messages (a unit test holds the two together). What it
 * saves per record (profile of bench/kafka-to-postgres-profile.ts): the `{ ok, values }` object
 * and the values array, a BigInt per integer, and the escape scan of every text value. JSON has
 * no raw control characters inside strings, so a value whose bytes hold no backslash cannot
 * decode to a string with a backslash, tab, newline, carriage return or NUL, nor to one that
 * JSON.stringify escapes: then no value of the record needs COPY escaping or the NUL check.
 */
export function compileCopyLineDecoder(columns: readonly ColumnPlan[]): (value: Buffer | null) => string | DecodeFailure {
  // Generated once per plan so each field is read with its own name (a property load V8 caches
  // per column) and each type's check is inline: the generic loop over columns cost ~0.1 µs per
  // record more (of ~1.1 µs; micro-bench of the bench's records). Names and messages enter the code only as JSON string literals.
  const lit = (text: string) => JSON.stringify(text);
  // decodeRecord checks that the value is an object at the first column with a path.
  const firstPath = columns.findIndex((c) => c.path.length > 0);
  const body: string[] = [
    'if (value === null) return { error: "the record has no value (a tombstone)" };',
    'let parsed;',
    'try { parsed = JSON.parse(value.toString("utf8")); } catch (error) { return { error: "malformed JSON: " + error.message }; }',
    'const plain = value.indexOf(92) === -1;',
    'let field, text, line = "";',
  ];
  columns.forEach((column, i) => {
    if (i > 0) body.push(`line += ${lit('\t')};`);
    if (i === firstPath) body.push('if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return { error: "expected a JSON object, got " + describe(parsed) };');
    if (column.path.length === 0) body.push('field = parsed;');
    else {
      body.push(`field = parsed[${lit(column.path[0]!)}];`);
      for (const part of column.path.slice(1)) body.push(`field = field !== null && typeof field === "object" && !Array.isArray(field) ? field[${lit(part)}] : undefined;`);
    }
    const missing = column.key || column.notNull === true ? `return { error: ${lit(missingFieldError(column))} };` : `line += ${lit('\\N')};`;
    const fast: Record<ColumnType, string> = {
      text: 'typeof field === "string" && plain',
      integer: 'typeof field === "number" && Number.isInteger(field) && field >= INT32_MIN && field <= INT32_MAX',
      bigint: 'typeof field === "number" && Number.isSafeInteger(field)',
      numeric: 'typeof field === "number" && Number.isFinite(field)',
      double: 'typeof field === "number" && Number.isFinite(field)',
      timestamptz: 'typeof field === "string" && parseTimestampText(field) === 0',
      boolean: 'typeof field === "boolean"',
      jsonb: 'plain',
    };
    const fastText: Record<ColumnType, string> = {
      text: 'field',
      integer: 'String(field)',
      bigint: 'String(field)',
      numeric: 'String(field)',
      double: 'String(field)',
      timestamptz: 'field',
      boolean: 'field ? "t" : "f"',
      jsonb: 'JSON.stringify(field)',
    };
    const prefix = lit(`field "${column.path.join('.') || '(value)'}" → column ${column.name} (${column.type}): `);
    body.push(
      `if (field === undefined || field === null) { ${missing} }`,
      `else if (${fast[column.type]}) line += ${fastText[column.type]};`,
      'else {',
      `  text = toColumnText(field, ${lit(column.type)});`,
      `  if (typeof text !== "string") return { error: ${prefix} + text.error };`,
      '  line += plain ? text : escapeCopyText(text);',
      '}',
    );
  });
  body.push(`return line + ${lit('\n')};`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the plan above, literals only
  const make = new Function('INT32_MIN', 'INT32_MAX', 'parseTimestampText', 'toColumnText', 'escapeCopyText', 'describe', `return function decode(value) {\n${body.join('\n')}\n};`);
  return make(INT32_MIN, INT32_MAX, parseTimestampText, toColumnText, escapeCopyText, describe) as (value: Buffer | null) => string | DecodeFailure;
}

/** The text PostgreSQL reads as this type, or why the value does not fit. */
export function toColumnText(value: unknown, type: ColumnType): string | { error: string } {
  switch (type) {
    case 'text': {
      if (typeof value === 'string') return value.includes('\u0000') ? { error: 'text cannot contain a NUL character' } : value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return { error: `expected text, got ${describe(value)} (use type jsonb for objects and lists)` };
    }
    case 'integer':
    case 'bigint': {
      let big: bigint | undefined;
      if (typeof value === 'number' && Number.isInteger(value)) big = Number.isSafeInteger(value) ? BigInt(value) : undefined;
      else if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) big = BigInt(value.trim());
      if (big === undefined) return { error: `expected ${type === 'integer' ? 'an integer' : 'a bigint'}, got ${describe(value)}` };
      const [min, max] = type === 'integer' ? [BigInt(INT32_MIN), BigInt(INT32_MAX)] : [INT64_MIN, INT64_MAX];
      if (big < min || big > max) return { error: `${big} is out of range for ${type}` };
      return big.toString();
    }
    case 'numeric':
    case 'double': {
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) {
        const text = value.trim();
        if (type === 'numeric') return text;
        const number = Number(text);
        // PostgreSQL refuses what a double cannot hold: overflow, and a non-zero that underflows to 0.
        if (Number.isFinite(number) && (number !== 0 || !NON_ZERO_MANTISSA.test(text))) return text;
        return { error: `"${text}" is out of range for type double precision` };
      }
      return { error: `expected a number, got ${describe(value)}` };
    }
    case 'boolean': {
      if (value === true || value === 'true') return 't';
      if (value === false || value === 'false') return 'f';
      return { error: `expected true or false, got ${describe(value)}` };
    }
    case 'timestamptz': {
      if (typeof value === 'string') {
        // A value PostgreSQL would refuse (February 30) is a dead letter here, with its words,
        // rather than a failed COPY of the whole batch and a retry row by row.
        const check = parseTimestampText(value);
        if (check === TimestampCheck.Ok) return value;
        if (check !== TimestampCheck.NotTimestamp) return { error: timestampError(check, value) };
      }
      // Numbers are epoch milliseconds (what Kafka record timestamps and Date.now() are).
      if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 8.64e15) {
        const text = new Date(value).toISOString();
        return parseTimestampText(text) === TimestampCheck.Ok ? text : { error: `epoch milliseconds ${value} is ${text}, outside the years 1 to 9999` };
      }
      return { error: `expected an ISO-8601 timestamp or epoch milliseconds, got ${describe(value)}` };
    }
    case 'jsonb': {
      const text = JSON.stringify(value);
      // \u0000 after an odd number of backslashes: a NUL character (after an even number it is a
      // backslash followed by the text "u0000", which jsonb takes).
      return ESCAPED_NUL.test(text) ? { error: 'jsonb cannot contain a NUL character (\\u0000)' } : text;
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${value.length > 30 ? `${value.slice(0, 27)}...` : value}"`;
  return `${typeof value} ${String(value)}`;
}

/** One line of COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
export function toCopyLine(values: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    const value = values[i];
    line += value === null || value === undefined ? '\\N' : escapeCopyText(value);
  }
  return `${line}\n`;
}

const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;
const NEEDS_ESCAPE = /[\\\n\r\t]/;
function escapeCopyText(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** A record's key or value as text for the dead-letter table: UTF-8 when it is, else `base64:…`. */
export function toDeadLetterText(bytes: Buffer | null): string | null {
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD') && !text.includes('\u0000')) return text;
  return `base64:${bytes.toString('base64')}`;
}
