import { describe, expect, it } from 'vitest';
import { compileCopyLineDecoder, decodeRecord, toColumnText, toCopyLine, toDeadLetterText, type ColumnPlan } from './kafka-record-decode.js';

const columns: ColumnPlan[] = [
  { name: 'id', path: ['id'], type: 'bigint', key: true },
  { name: 'station', path: ['station', 'name'], type: 'text', key: false },
  { name: 'at', path: ['at'], type: 'timestamptz', key: false },
  { name: 'raw', path: [], type: 'jsonb', key: false },
];
const decode = (text: string | null) => decodeRecord(text === null ? null : Buffer.from(text), columns);

describe('decodeRecord', () => {
  it('maps fields by name and dotted path, missing fields to NULL, the whole value to jsonb', () => {
    expect(decode('{"id": 7, "station": {"name": "centrum"}, "at": "2024-01-31T10:00:00Z"}')).toEqual({
      ok: true,
      values: ['7', 'centrum', '2024-01-31T10:00:00Z', '{"id":7,"station":{"name":"centrum"},"at":"2024-01-31T10:00:00Z"}'],
    });
    expect(decode('{"id": "8"}')).toMatchObject({ ok: true, values: ['8', null, null, '{"id":"8"}'] });
  });
  it.each([
    [null, /tombstone/],
    ['{"id": 1,', /^malformed JSON/],
    ['"text"', /expected a JSON object/],
    ['{"station": {"name": "x"}}', /key field "id" is missing/],
    ['{"id": null}', /key field "id" is missing/],
    ['{"id": 1.5}', /column id \(bigint\): expected a bigint/],
    ['{"id": "9223372036854775808"}', /out of range for bigint/],
    ['{"id": 1, "station": {"name": {"a": 1}}}', /expected text, got an object/],
    ['{"id": 1, "at": "yesterday"}', /expected an ISO-8601 timestamp/],
    ['{"id": 1, "at": "2024-13-01"}', /expected an ISO-8601 timestamp/],
  ])('rejects %s', (value, error) => {
    const decoded = decode(value);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error).toMatch(error);
  });
  it('sends a record without the field of a NOT NULL column (no default) to the dead letters, naming the column, in both decoders', () => {
    const plan: ColumnPlan[] = [
      { name: 'id', path: ['id'], type: 'integer', key: false, notNull: true },
      { name: 'station', path: ['station'], type: 'text', key: false },
    ];
    for (const value of ['{"station": "st-1"}', '{"id": null, "station": "st-1"}']) {
      expect(decodeRecord(Buffer.from(value), plan)).toEqual({ ok: false, error: 'field "id" is missing or null, and column id is NOT NULL without a default' });
      expect(compileCopyLineDecoder(plan)(Buffer.from(value))).toEqual({ error: 'field "id" is missing or null, and column id is NOT NULL without a default' });
    }
    expect(decodeRecord(Buffer.from('{"id": 1}'), plan)).toEqual({ ok: true, values: ['1', null] });
  });
});

describe('toColumnText', () => {
  it('checks ranges and canonicalises', () => {
    expect(toColumnText(2147483647, 'integer')).toBe('2147483647');
    expect(toColumnText(2147483648, 'integer')).toEqual({ error: '2147483648 is out of range for integer' });
    expect(toColumnText('12.50', 'numeric')).toBe('12.50');
    expect(toColumnText('1e400', 'double')).toEqual({ error: '"1e400" is out of range for type double precision' });
    expect(toColumnText('1e-400', 'double')).toEqual({ error: '"1e-400" is out of range for type double precision' });
    expect(toColumnText('0e-400', 'double')).toBe('0e-400');
    expect(toColumnText('2024-02-30 10:00', 'timestamptz')).toEqual({ error: 'date/time field value out of range: "2024-02-30 10:00"' });
    expect(toColumnText('2024-01-01T10:00+16:00', 'timestamptz')).toEqual({ error: 'time zone displacement out of range: "2024-01-01T10:00+16:00"' });
    expect(toColumnText(-62198755200000, 'timestamptz')).toEqual({ error: 'epoch milliseconds -62198755200000 is -000001-01-01T00:00:00.000Z, outside the years 1 to 9999' });
    expect(toColumnText(true, 'boolean')).toBe('t');
    expect(toColumnText(0, 'timestamptz')).toBe('1970-01-01T00:00:00.000Z');
    expect(toColumnText('a\u0000b', 'text')).toEqual({ error: 'text cannot contain a NUL character' });
    expect(toColumnText({ s: 'a\u0000' }, 'jsonb')).toEqual({ error: 'jsonb cannot contain a NUL character (\\u0000)' });
  });
});

describe('toCopyLine and toDeadLetterText', () => {
  it('escapes COPY text and writes NULL as \\N', () => {
    expect(toCopyLine(['a\tb', null, 'c\\d\ne'])).toBe('a\\tb\t\\N\tc\\\\d\\ne\n');
  });
  it('keeps UTF-8 as text and other bytes as base64', () => {
    expect(toDeadLetterText(Buffer.from('{"ok": "ü"}'))).toBe('{"ok": "ü"}');
    expect(toDeadLetterText(Buffer.from([0xff, 0x00, 0x41]))).toBe('base64:/wBB');
  });
});

describe('compileCopyLineDecoder', () => {
  const plans: ColumnPlan[][] = [
    columns,
    [
      { name: 'i', path: ['i'], type: 'integer', key: false },
      { name: 'b', path: ['b'], type: 'bigint', key: false },
      { name: 'n', path: ['n'], type: 'numeric', key: false },
      { name: 'd', path: ['d'], type: 'double', key: false },
      { name: 'f', path: ['f'], type: 'boolean', key: false },
      { name: 't', path: ['t'], type: 'text', key: false },
      { name: 'j', path: ['j'], type: 'jsonb', key: false },
      { name: 'at', path: ['at'], type: 'timestamptz', key: false },
    ],
    [
      { name: 'value', path: [], type: 'jsonb', key: false },
      { name: 'id', path: ['id'], type: 'text', key: true },
    ],
  ];
  const values = [
    null,
    '',
    '{"id": 1,',
    '"text"',
    '[1, 2]',
    'null',
    '"a\\u0000b"',
    '{"id": 7, "station": {"name": "centrum"}, "at": "2024-01-31T10:00:00Z"}',
    '{"id": "8"}',
    '{"id": null}',
    '{"id": 1.5}',
    '{"id": -0, "i": -0, "b": -0}',
    '{"id": "9223372036854775808"}',
    '{"id": " 12 ", "b": "-9223372036854775808", "i": "2147483647"}',
    '{"id": 1, "station": {"name": {"a": 1}}}',
    '{"id": 1, "station": {"name": "tab\\there\\nand\\\\back \\"q\\" \\r"}}',
    '{"id": 1, "station": {"name": "nul\\u0000"}}',
    '{"id": 1, "station": "flat"}',
    '{"id": 1, "at": "yesterday"}',
    '{"id": 1, "at": 1700000000000}',
    '{"id": 1, "at": 1e300}',
    '{"i": 2147483647, "b": 9007199254740991, "n": 1.25, "d": -3e-7, "f": true, "t": 12, "j": {"x": [1, "a\\tb"]}, "at": "2024-02-30 10:00"}',
    '{"i": 2147483648}',
    '{"i": -2147483649}',
    '{"i": "12", "b": 9007199254740993, "n": " 1.5e3 ", "d": "1e400", "f": "false", "t": false, "j": "s\\u0000"}',
    '{"b": 1e21, "n": "abc", "f": 1, "t": [1], "j": null}',
    '{"t": "ü\\\\", "j": "\\ud800"}',
    '{"j": {"k\\"ey": "v"}, "t": "plain"}',
  ];
  it.each(plans.map((plan, i) => [i, plan] as const))('gives decodeRecord + toCopyLine exactly (plan %i)', (_i, plan) => {
    const decode = compileCopyLineDecoder(plan);
    for (const text of values) {
      const value = text === null ? null : Buffer.from(text);
      const expected = decodeRecord(value, plan);
      const actual = decode(value);
      if (expected.ok) expect(actual, String(text)).toBe(toCopyLine(expected.values));
      else expect(actual, String(text)).toEqual({ error: expected.error });
    }
  });
});
