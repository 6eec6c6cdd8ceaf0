/**
 * Which record field goes to which column of the target table, read once when kafka.to_postgres
 * starts. Pure (the catalog rows are passed in), so every rule is unit-tested.
 *
 * With `columns`: that mapping, as written.
 * Without `columns`, by name (issue 12): every column the task may write takes the record field of
 * the same name (the catalog's spelling: an unquoted column is lower case), cast to the column's
 * type with the same casts and dead-letter rules as an explicit mapping; fields without a column
 * are ignored. A field that is missing (or JSON null):
 *   - a key column, or a column NOT NULL without a default: the record is a dead letter that names
 *     the column;
 *   - a column with a default: the default (the rows go through the staging table, and the INSERT
 *     from it takes `coalesce(field, default)`: COPY cannot leave out a column for one row);
 *   - any other column: NULL.
 * Generated and identity columns are PostgreSQL's to fill: never written by name.
 * The one exception keeps what a table of "the whole record" asks for (dfm's default before
 * by-name mapping): when the columns without a default, the key columns aside, are exactly one of
 * type jsonb or json, that column receives the whole value, the key columns their fields, and the
 * other columns their defaults.
 */
import { DfmError } from '../../lib/errors.js';
import type { ColumnPlan, ColumnType } from './kafka-record-decode.js';

/** One column of the target table, as the catalog describes it. */
export interface TargetColumn {
  readonly name: string;
  /** format_type(atttypid, atttypmod): `integer`, `character varying(20)`, `timestamp(3) with time zone`. */
  readonly type: string;
  readonly notNull: boolean;
  /** The default's expression (pg_get_expr), or undefined when the column has none. */
  readonly defaultExpression: string | undefined;
  /** Identity (`always` or `by default`) or generated: PostgreSQL fills it. */
  readonly filledByPostgres: boolean;
}

/** What the writer needs: the columns written, in order, and the default of those that have one. */
export interface TargetPlan {
  readonly columns: ColumnPlan[];
  /** By-name columns with a default: the expression a missing field takes (the INSERT's coalesce). */
  readonly defaults: ReadonlyMap<string, string>;
}

/** The catalog types a by-name mapping casts to, and the mapping type each one takes. */
const TYPE_OF_FORMAT: Readonly<Record<string, ColumnType>> = {
  text: 'text',
  'character varying': 'text',
  character: 'text',
  integer: 'integer',
  smallint: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  'double precision': 'double',
  real: 'double',
  boolean: 'boolean',
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamptz',
  date: 'timestamptz',
  jsonb: 'jsonb',
  json: 'jsonb',
};

/** The mapping type of a catalog type (its length or precision left out), or undefined when dfm has no cast to it. */
export function columnTypeOf(formatType: string): ColumnType | undefined {
  return TYPE_OF_FORMAT[formatType.replace(/\(\d+(?:,\d+)?\)/, '')];
}

export interface PlanOptions {
  readonly table: string;
  readonly key: readonly string[] | undefined;
  readonly columns: Readonly<Record<string, { field: string | undefined; type: ColumnType }>> | undefined;
}

export function planTargetColumns(options: PlanOptions, target: readonly TargetColumn[]): TargetPlan {
  const byName = new Map(target.map((c) => [c.name, c]));
  const keys = new Set((options.key ?? []).map((k) => k.toLowerCase()));
  const plan: TargetPlan = options.columns ? planExplicit(options.columns, keys) : planByName(options, target, keys);
  const missing = plan.columns.filter((c) => !byName.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw new DfmError(
      'TARGET_COLUMNS_MISSING',
      `Table ${options.table} has no column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. Add ${missing.length > 1 ? 'them' : 'it'} to the table or change ${options.columns ? '"columns"' : '"key"'}.`,
      { retryable: false },
    );
  }
  return plan;
}

function planExplicit(columns: NonNullable<PlanOptions['columns']>, keys: ReadonlySet<string>): TargetPlan {
  return {
    columns: Object.entries(columns).map(([name, c]) => ({ name: name.toLowerCase(), path: (c.field ?? name).split('.'), type: c.type, key: keys.has(name.toLowerCase()) })),
    defaults: new Map(),
  };
}

function planByName(options: PlanOptions, target: readonly TargetColumn[], keys: ReadonlySet<string>): TargetPlan {
  const writable = target.filter((c) => !c.filledByPostgres);
  const required = writable.filter((c) => c.defaultExpression === undefined && !keys.has(c.name));
  const whole = required.length === 1 && columnTypeOf(required[0]!.type) === 'jsonb' ? required[0]! : undefined;
  // In the table's column order.
  const mapped = whole === undefined ? writable : writable.filter((c) => c === whole || keys.has(c.name));
  checkMappable(options.table, mapped.filter((c) => c !== whole));
  const columns: ColumnPlan[] = [
    // Key columns the table lacks stay in the plan: planTargetColumns names them.
    ...[...keys].filter((name) => !writable.some((c) => c.name === name)).map((name) => ({ name, path: [name], type: 'text' as const, key: true })),
    ...mapped.map((c) =>
      c === whole
        ? { name: c.name, path: [], type: 'jsonb' as const, key: false }
        : { name: c.name, path: [c.name], type: columnTypeOf(c.type)!, key: keys.has(c.name), ...(c.notNull && c.defaultExpression === undefined && !keys.has(c.name) ? { notNull: true } : {}) },
    ),
  ];
  if (columns.length === 0) {
    throw new DfmError('TARGET_COLUMNS_MISSING', `Table ${options.table} has no column a record field can go to by name (identity and generated columns are PostgreSQL's). Add one, or map the fields under "columns".`, { retryable: false });
  }
  const defaults = new Map(mapped.filter((c) => c !== whole && c.defaultExpression !== undefined).map((c) => [c.name, c.defaultExpression!]));
  return { columns, defaults };
}

/** Every column written by name has a type dfm casts to and a name it can quote: or the task does not start. */
function checkMappable(table: string, columns: readonly TargetColumn[]): void {
  const unsupported = columns.filter((c) => columnTypeOf(c.type) === undefined);
  if (unsupported.length > 0) {
    throw new DfmError(
      'TARGET_COLUMN_TYPE_UNSUPPORTED',
      `Table ${table}: ${unsupported.map((c) => `column ${c.name} has type ${c.type}`).join(', ')}, which kafka.to_postgres cannot cast a record field to by name (it casts to ${Object.keys(TYPE_OF_FORMAT).join(', ')}). Map the columns explicitly under "columns", e.g. columns: { ${unsupported[0]!.name}: { type: text } } to let PostgreSQL read the field's text as ${unsupported[0]!.type}.`,
      { retryable: false },
    );
  }
  const unquotable = columns.filter((c) => !/^[a-z_][a-z0-9_]*$/.test(c.name));
  if (unquotable.length > 0) {
    throw new DfmError(
      'TARGET_COLUMN_NAME_UNSUPPORTED',
      `Table ${table}: column${unquotable.length > 1 ? 's' : ''} ${unquotable.map((c) => `"${c.name}"`).join(', ')} ${unquotable.length > 1 ? 'are' : 'is'} not a lower-case unquoted identifier, which a by-name mapping cannot address. Rename ${unquotable.length > 1 ? 'them' : 'it'}, or map the table's columns under "columns".`,
      { retryable: false },
    );
  }
}
