/**
 * Named SQL parameters (`:name`) and statement counting, by a small lexer that knows where
 * PostgreSQL text is *not* code: 'strings' (E'' escapes too), "identifiers", -- and nested block
 * comments, $tag$ dollar-quoted bodies, and `::` casts. Parameters are always bound as $1..$n,
 * never spliced into the text (issue 3: "the executor binds, never splices").
 *
 * Known limit: an array slice whose upper bound is a bare name (`arr[1:n]`) reads as parameter
 * `n`; write `arr[1:(n)]` instead.
 */

export interface SqlParameterUse {
  name: string;
  /** Offset of the `:` in the SQL text. */
  offset: number;
  /** Length including the `:`. */
  length: number;
}

interface SqlScan {
  parameters: SqlParameterUse[];
  statements: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_$]/;
const PARAM_PART = /[A-Za-z0-9_]/;

function scanSql(sql: string): SqlScan {
  const parameters: SqlParameterUse[] = [];
  let statements = 0;
  let statementHasCode = false;
  let i = 0;
  const n = sql.length;
  const markCode = () => {
    statementHasCode = true;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; }
        else i++;
      }
      continue;
    }
    if (c === "'") {
      markCode();
      const prev = sql[i - 1];
      const escapes = (prev === 'E' || prev === 'e') && !IDENT_PART.test(sql[i - 2] ?? ' ');
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') { i += 2; continue; }
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      continue;
    }
    if (c === '"') {
      markCode();
      i++;
      while (i < n) {
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      continue;
    }
    if (c === '$' && !IDENT_PART.test(sql[i - 1] ?? ' ')) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (tag) {
        markCode();
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
        continue;
      }
    }
    if (c === ':') {
      markCode();
      if (next === ':') { i += 2; continue; }
      if (next !== undefined && IDENT_START.test(next) && sql[i - 1] !== ':') {
        let end = i + 2;
        while (end < n && PARAM_PART.test(sql[end]!)) end++;
        parameters.push({ name: sql.slice(i + 1, end), offset: i, length: end - i });
        i = end;
        continue;
      }
      i++;
      continue;
    }
    if (c === ';') {
      if (statementHasCode) statements++;
      statementHasCode = false;
      i++;
      continue;
    }
    if (IDENT_PART.test(c)) {
      // Skip a whole word so `a:b` inside identifiers like `x$y` is not misread.
      markCode();
      let end = i + 1;
      while (end < n && IDENT_PART.test(sql[end]!)) end++;
      i = end;
      continue;
    }
    if (!/\s/.test(c)) markCode();
    i++;
  }
  if (statementHasCode) statements++;
  return { parameters, statements };
}

/** Every `:name` use, in text order, with offsets (for diagnostics that point inside the SQL). */
export function findSqlParameters(sql: string): SqlParameterUse[] {
  return scanSql(sql).parameters;
}

/** The distinct parameter names, in order of first use. */
export function sqlParameters(sql: string): string[] {
  return [...new Set(findSqlParameters(sql).map((p) => p.name))];
}

/**
 * Rewrites `:name` to `$1..$n` (one number per distinct name, reused on repeat) and returns the
 * names in binding order: `values = names.map((name) => params[name])`.
 */
export function bindSqlParameters(sql: string): { text: string; names: string[] } {
  const names: string[] = [];
  let text = '';
  let last = 0;
  for (const use of findSqlParameters(sql)) {
    let index = names.indexOf(use.name);
    if (index === -1) index = names.push(use.name) - 1;
    text += `${sql.slice(last, use.offset)}$${index + 1}`;
    last = use.offset + use.length;
  }
  return { text: text + sql.slice(last), names };
}

/** Statements in the text: non-empty pieces between top-level `;` (comments alone do not count). */
export function countStatements(sql: string): number {
  return scanSql(sql).statements;
}
