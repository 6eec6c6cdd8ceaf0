/** `raw.Orders` → `"raw"."orders"`: names are validated unquoted identifiers, folded as Postgres does. */
export function quoteName(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.toLowerCase()}"`)
    .join('.');
}
