import { describe, expect, it } from 'vitest';
import { planTargetColumns, type TargetColumn } from './plan-target-columns.js';

const column = (name: string, type: string, more: Partial<TargetColumn> = {}): TargetColumn => ({ name, type, notNull: false, defaultExpression: undefined, filledByPostgres: false, ...more });
const byName = (target: TargetColumn[], key?: string[]) => planTargetColumns({ table: 'readings', key, columns: undefined }, target);

describe('planTargetColumns without "columns" (by name)', () => {
  it('maps every column to the field of its name, typed from the catalog, in table order', () => {
    const plan = byName([column('id', 'integer', { notNull: true }), column('station', 'character varying(20)'), column('aqi', 'smallint'), column('at', 'timestamp(3) with time zone'), column('pm25', 'numeric(6,2)')]);
    expect(plan.columns).toEqual([
      { name: 'id', path: ['id'], type: 'integer', key: false, notNull: true },
      { name: 'station', path: ['station'], type: 'text', key: false },
      { name: 'aqi', path: ['aqi'], type: 'integer', key: false },
      { name: 'at', path: ['at'], type: 'timestamptz', key: false },
      { name: 'pm25', path: ['pm25'], type: 'numeric', key: false },
    ]);
    expect(plan.defaults.size).toBe(0);
  });

  it('gives columns with a default their expression for a missing field, and leaves identity and generated columns to PostgreSQL', () => {
    const plan = byName(
      [
        column('id', 'bigint', { notNull: true, filledByPostgres: true }),
        column('station', 'text', { notNull: true }),
        column('at', 'timestamp with time zone', { notNull: true, defaultExpression: 'now()' }),
        column('n', 'integer', { defaultExpression: "nextval('readings_n_seq'::regclass)" }),
        column('upper', 'text', { filledByPostgres: true }),
      ],
      ['station'],
    );
    expect(plan.columns.map((c) => c.name)).toEqual(['station', 'at', 'n']);
    expect(plan.columns[0]).toEqual({ name: 'station', path: ['station'], type: 'text', key: true });
    // NOT NULL with a default: the default, never a dead letter.
    expect(plan.columns[1]!.notNull).toBeUndefined();
    expect([...plan.defaults]).toEqual([
      ['at', 'now()'],
      ['n', "nextval('readings_n_seq'::regclass)"],
    ]);
  });

  it('writes the whole value to the one jsonb or json column without a default, key columns by name', () => {
    expect(byName([column('value', 'jsonb', { notNull: true })]).columns).toEqual([{ name: 'value', path: [], type: 'jsonb', key: false }]);
    const keyed = byName([column('id', 'bigint', { notNull: true, filledByPostgres: true }), column('order_id', 'text', { notNull: true }), column('doc', 'json'), column('at', 'timestamp with time zone', { defaultExpression: 'now()' })], ['order_id']);
    expect(keyed.columns).toEqual([
      { name: 'order_id', path: ['order_id'], type: 'text', key: true },
      { name: 'doc', path: [], type: 'jsonb', key: false },
    ]);
    expect(keyed.defaults.size).toBe(0);
    // Two columns without a default: by name, the jsonb one takes its own field.
    expect(byName([column('value', 'jsonb'), column('note', 'text')]).columns.map((c) => c.path)).toEqual([['value'], ['note']]);
  });

  it('refuses at start a column type it cannot cast to, naming the column, its type and the supported types', () => {
    expect(() => byName([column('id', 'integer'), column('ref', 'uuid'), column('tags', 'text[]')])).toThrow(
      /^Table readings: column ref has type uuid, column tags has type text\[\], which kafka\.to_postgres cannot cast a record field to by name \(it casts to text, character varying, .*jsonb, json\)\. Map the columns explicitly under "columns", e\.g\. columns: \{ ref: \{ type: text \} \}/,
    );
    expect(() => byName([column('id', 'integer'), column('ref', 'uuid')])).toThrow(expect.objectContaining({ code: 'TARGET_COLUMN_TYPE_UNSUPPORTED', retryable: false }));
    // Left to PostgreSQL: no cast needed.
    expect(byName([column('id', 'uuid', { filledByPostgres: true }), column('n', 'integer')]).columns.map((c) => c.name)).toEqual(['n']);
    expect(() => byName([column('Station', 'text')])).toThrow(/column "Station" is not a lower-case unquoted identifier/);
    expect(() => byName([column('id', 'bigint', { filledByPostgres: true })])).toThrow(/^Table readings has no column a record field can go to by name/);
  });

  it('names key columns the table lacks', () => {
    expect(() => byName([column('value', 'jsonb')], ['order_id'])).toThrow(/^Table readings has no column order_id\. Add it to the table or change "key"\./);
  });
});

describe('planTargetColumns with "columns"', () => {
  it('takes the mapping as written, whatever the catalog says of defaults', () => {
    const plan = planTargetColumns({ table: 'readings', key: ['id'], columns: { id: { field: undefined, type: 'bigint' }, pm25: { field: 'iaqi.pm25', type: 'double' } } }, [
      column('id', 'bigint'),
      column('pm25', 'double precision', { defaultExpression: '0' }),
    ]);
    expect(plan).toEqual({
      columns: [
        { name: 'id', path: ['id'], type: 'bigint', key: true },
        { name: 'pm25', path: ['iaqi', 'pm25'], type: 'double', key: false },
      ],
      defaults: new Map(),
    });
    expect(() => planTargetColumns({ table: 'readings', key: undefined, columns: { nope: { field: undefined, type: 'text' } } }, [column('id', 'bigint')])).toThrow(
      /has no column nope\. Add it to the table or change "columns"/,
    );
  });
});
