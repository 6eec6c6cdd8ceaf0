/**
 * A result row as the object the code uses: the listed snake_case columns become camelCase fields,
 * in the order listed. pg returns bigint columns as strings and `json_agg` returns timestamps as
 * text, so `ids` and `times` name the columns to turn into numbers and Dates (null stays null).
 * The caller names the result type: the column list is what makes it true.
 */
export interface RowConversions {
  readonly ids?: readonly string[];
  readonly times?: readonly string[];
  /** Columns whose field is not their camelCase name (`task_type` → `type`). */
  readonly rename?: Readonly<Record<string, string>>;
}

export function fromRow<T>(row: Readonly<Record<string, unknown>>, columns: readonly string[], conversions: RowConversions = {}): T {
  const out: Record<string, unknown> = {};
  for (const column of columns) {
    let value = row[column];
    if (value !== null && value !== undefined) {
      if (conversions.ids?.includes(column)) value = Number(value);
      else if (conversions.times?.includes(column) && !(value instanceof Date)) value = new Date(value as string);
    }
    out[conversions.rename?.[column] ?? toCamelCase(column)] = value;
  }
  return out as T;
}

export function toCamelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
