import { describe, expect, it } from 'vitest';
import { bindSqlParameters, countStatements, sqlParameters } from './sql-parameters.js';

describe('sqlParameters', () => {
  it('finds :name parameters in order of first use', () => {
    expect(sqlParameters('select * from t where a >= :interval_start and b < :interval_end and c = :interval_start')).toEqual(['interval_start', 'interval_end']);
  });

  it('ignores casts, strings, identifiers, comments and dollar-quoted text', () => {
    const sql = `select x::int, ':a' as s, E'\\':b' as e, "col:c", $$ :d $$, $body$ :e $body$
      -- :f
      /* :g /* nested :h */ :i */
      from t where y = :real and z::text = 'it''s :j'`;
    expect(sqlParameters(sql)).toEqual(['real']);
  });

  it('reads a parameter directly followed by a cast', () => {
    expect(sqlParameters('select :logical_time::date')).toEqual(['logical_time']);
  });

  it('does not read positional $1 as dollar quoting', () => {
    expect(sqlParameters('select $1, :a, $2')).toEqual(['a']);
  });
});

describe('bindSqlParameters', () => {
  it('rewrites to $1..$n, reusing the number of a repeated name', () => {
    expect(bindSqlParameters("select :a, :b::int, ':a', :a")).toEqual({ text: "select $1, $2::int, ':a', $1", names: ['a', 'b'] });
  });

  it('leaves SQL without parameters unchanged', () => {
    expect(bindSqlParameters('select 1')).toEqual({ text: 'select 1', names: [] });
  });
});

describe('countStatements', () => {
  it.each([
    ['select 1', 1],
    ['select 1;', 1],
    ['select 1; select 2', 2],
    ['select 1;\n-- trailing comment\n', 1],
    ["select ';' as semicolon", 1],
    ['create function f() returns int as $$ begin return 1; end $$ language plpgsql', 1],
    ['-- only a comment', 0],
    ['  ;  ; ', 0],
    ['/* a; b */ select 1', 1],
  ])('%j has %i statement(s)', (sql, count) => {
    expect(countStatements(sql)).toBe(count);
  });
});
