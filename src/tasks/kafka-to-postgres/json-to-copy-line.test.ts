import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binaryRowRoom, compileBinaryRowDecoder } from './copy-binary.js';
import { compileCopyLineDecoder, type ColumnPlan, type ColumnType } from './kafka-record-decode.js';
import { compileJsonCopyWriter, copyLineRoom } from './json-to-copy-line.js';

const col = (name: string, type: ColumnType, key = false, path: string[] = [name]): ColumnPlan => ({ name, path, type, key });
const PLANS: Record<string, ColumnPlan[]> = {
  airQuality: [col('id', 'bigint', true), col('station', 'text'), col('time', 'timestamptz'), col('aqi', 'integer'), col('pm25', 'double'), col('note', 'text')],
  everyType: [col('i', 'integer'), col('b', 'bigint'), col('n', 'numeric'), col('d', 'double'), col('f', 'boolean'), col('t', 'text'), col('j', 'jsonb'), col('at', 'timestamptz')],
  wholeValue: [col('value', 'jsonb', false, []), col('id', 'text', true)],
  wholeValueOnly: [col('value', 'jsonb', false, [])],
  // By name, columns NOT NULL without a default: a record without the field is the decoder's to explain.
  notNull: [{ ...col('i', 'integer'), notNull: true }, col('t', 'text'), { ...col('at', 'timestamptz'), notNull: true }, { ...col('f', 'boolean'), notNull: true }],
};

/**
 * What the byte path writes, as text, or undefined when it gives the record back. Also written
 * from a range of a larger buffer whose neighbouring bytes would complete a cut-off value (as the
 * decoding worker passes a request's records): the range must give exactly the same.
 */
function viaBytes(plan: readonly ColumnPlan[], value: Buffer): string | undefined {
  const write = compileJsonCopyWriter(plan)!;
  const out = Buffer.alloc(copyLineRoom(value.length, plan.length) + 7);
  const end = write(value, out, 7);
  const before = Buffer.from('"}]{"x":');
  const around = Buffer.concat([before, value, Buffer.from('"}]}"\\ 1')]);
  const ranged = Buffer.alloc(out.length);
  const rangedEnd = write(around, ranged, 7, before.length, before.length + value.length);
  expect(rangedEnd, `range of ${value.toString('utf8')}`).toBe(end);
  if (end >= 0) expect(ranged.subarray(7, end).equals(out.subarray(7, end))).toBe(true);
  return end < 0 ? undefined : out.toString('utf8', 7, end);
}

/** The byte path either gives the record back or writes exactly what the general decoder writes. */
function expectSameAsDecoder(plan: readonly ColumnPlan[], value: Buffer): string | undefined {
  const bytes = viaBytes(plan, value);
  if (bytes !== undefined) expect(bytes, value.toString('utf8')).toBe(compileCopyLineDecoder(plan)(value));
  return bytes;
}

describe('compileJsonCopyWriter', () => {
  it('takes the plain records the byte path is for, and writes what the decoder writes', () => {
    const taken = [
      ['airQuality', '{"id":7,"station":"station-0007","time":"2024-01-01T00:00:07.000Z","aqi":7,"pm25":0.7,"note":"xxxx"}'],
      ['airQuality', ' { "note" : "ü € 😀", "id" : -12 , "aqi": null}\n'],
      ['airQuality', '{"id":1,"station":"tab\\there\\nand\\\\back \\"q\\" \\r \\/ \\b\\f \\u00e9\\u20ac\\ud83d\\ude00 \\u000a"}'],
      ['airQuality', '{"id":1,"extra":{"nested":[1,2.5,{"deep":"x\\"y"}],"e":1e400},"aqi":-2147483648,"pm25":-0.000001}'],
      ['airQuality', '{"id":999999999999999,"aqi":2147483647,"pm25":123456789012345,"time":"2024-02-29 23:59"}'],
      ['everyType', '{"i":0,"b":-5,"n":12.5,"d":0.25,"f":false,"t":"","j":{"a" : [ 1, "t\\tb", true, null ] },"at":"2024-01-31T10:00:00+05:30"}'],
      ['everyType', '{"j":"str\\"ing","f":true}'],
      ['everyType', '{"j":3.5}'],
      ['everyType', '{"j":true,"at":"2024-01-31"}'],
      ['everyType', '{}'],
      ['wholeValue', '{"id":"k1", "payload": {"a": [1, 2, 3], "b": "line\\nbreak"}}'],
      ['wholeValueOnly', '[1, "two", {"three": 3}]'],
      ['wholeValueOnly', 'null'],
      ['wholeValueOnly', '"text"'],
      // Numbers JavaScript prints otherwise: printed as it does.
      ['airQuality', '{"id": 1.0, "aqi": 2e3, "pm25": 0.0000001, "note": "x"}'],
      ['airQuality', '{"id": -0, "aqi": -0.0, "pm25": 1.50}'],
      ['everyType', '{"n": 12.50, "d": 1E-2, "b": 1234567890123456}'],
    ] as const;
    for (const [plan, text] of taken) {
      const line = expectSameAsDecoder(PLANS[plan]!, Buffer.from(text));
      expect(line, `${plan}: ${text}`).toBeDefined();
    }
  });

  it('gives back what only the general decoder can write or explain', () => {
    const givenBack = [
      ['airQuality', '{"id": 1,'], // malformed
      ['airQuality', '{"aqi": 1}'], // key missing
      ['airQuality', '{"id": 1, "time": "2023-02-29 23:59"}'], // not a date PostgreSQL takes
      ['airQuality', '{"id": null}'],
      ['airQuality', '{"id": 1, "id": 2}'], // duplicate
      ['airQuality', '{"i\\u0064": 1}'], // escaped key
      ['airQuality', '{"id": "12"}'], // a string for a number
      ['airQuality', '{"id": 1.5}'],
      ['airQuality', '{"id": 12345678901234567}'], // beyond 2^53
      ['airQuality', '{"id": 1, "aqi": 2147483648}'],
      ['airQuality', '{"id": 1, "station": 12}'],
      ['airQuality', '{"id": 1, "station": "nul\\u0000"}'],
      ['airQuality', '{"id": 1, "station": "lone \\ud800"}'],
      ['airQuality', '{"id": 1, "time": "2024-13-01"}'],
      ['airQuality', '{"id": 1, "time": 1700000000000}'],
      ['airQuality', '[1]'],
      ['airQuality', '{"id": 1} x'],
      ['everyType', '{"f": "true"}'],
      ['everyType', '{"j": {"n": 1.50}}'],
      ['wholeValue', '{"id": "k", "n": 1e2}'],
    ] as const;
    for (const [plan, text] of givenBack) expect(viaBytes(PLANS[plan]!, Buffer.from(text)), text).toBeUndefined();
    // Invalid UTF-8 (JSON.parse would read U+FFFD) and an overlong form.
    expect(viaBytes(PLANS['airQuality']!, Buffer.from([...Buffer.from('{"id":1,"note":"'), 0xff, 0x22, 0x7d]))).toBeUndefined();
    expect(viaBytes(PLANS['airQuality']!, Buffer.from([...Buffer.from('{"id":1,"note":"'), 0xc0, 0xaf, 0x22, 0x7d]))).toBeUndefined();
    // Nesting past 64 levels.
    expect(viaBytes(PLANS['airQuality']!, Buffer.from(`{"id":1,"x":${'['.repeat(70)}${']'.repeat(70)}}`))).toBeUndefined();
  });

  it('has no byte path for nested field paths, json (not jsonb) columns or two columns from one field', () => {
    expect(compileJsonCopyWriter([col('a', 'text', false, ['x', 'y'])])).toBeUndefined();
    expect(compileJsonCopyWriter([col('a', 'jsonb')], new Set(['a']))).toBeUndefined();
    expect(compileJsonCopyWriter([col('a', 'text', false, ['x']), col('b', 'integer', false, ['x'])])).toBeUndefined();
  });

  it('matches the decoder on generated records (property)', () => {
    const plan = PLANS['everyType']!;
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('a\tb', 'c\\d', 'e\nf', '\u0000', '\r', '"'));
    const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2147483647, -2147483648, 2147483648, 9007199254740991, 1e21, 1e-7, 0.1, -0));
    const timestamp = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2024-01-31', '2024-02-30 10:00', '2024-01-01T24:00', '2024-01-01T10:00:00.1234567890Z'));
    const field = fc.oneof(text, number, fc.boolean(), fc.constant(null), timestamp, fc.jsonValue({ maxDepth: 3 }));
    const record = fc.dictionary(fc.constantFrom('i', 'b', 'n', 'd', 'f', 't', 'j', 'at', 'other'), field, { maxKeys: 9 });
    const spacing = fc.constantFrom(undefined, 1, '\t');
    fc.assert(
      fc.property(record, spacing, (object, space) => {
        for (const p of [plan, PLANS['wholeValue']!, PLANS['wholeValueOnly']!]) expectSameAsDecoder(p, Buffer.from(JSON.stringify(object, null, space)));
      }),
      { numRuns: 3000 },
    );
    // 3,000 records through three plans: ~3 s on an idle 2-core machine, ~6 s under a full suite
    // of other engineers' tests (load 12), past vitest's 5 s default.
  }, 30_000);

  it('gives a record without a NOT NULL field (no default) back to the decoder, and otherwise writes its line (property)', () => {
    const plan = PLANS['notNull']!;
    const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
    const record = fc.dictionary(fc.constantFrom('i', 't', 'at', 'f', 'other'), field, { maxKeys: 5 });
    fc.assert(
      fc.property(record, (object) => {
        const value = Buffer.from(JSON.stringify(object));
        const bytes = expectSameAsDecoder(plan, value);
        if ([object['i'], object['at'], object['f']].some((v) => v === undefined || v === null)) expect(bytes).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('prints numbers as JavaScript does whenever it takes them (property)', () => {
    const plan = [col('n', 'numeric')];
    const formatted = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d)),
      fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([d, k]) => d.toFixed(k)),
      fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
      fc.stringMatching(/^-?(0|[1-9]\d{0,17})(\.\d{1,18})?$/),
    );
    fc.assert(
      fc.property(formatted, (number) => {
        const line = viaBytes(plan, Buffer.from(`{"n":${number}}`));
        if (line !== undefined) expect(line).toBe(`${String(Number(number))}\n`);
      }),
      { numRuns: 20000 },
    );
  });

  it('survives arbitrary bytes: a line it writes is always the decoder\'s (property)', () => {
    const base = '{"id":7,"station":"s\\u00e9","time":"2024-01-01T00:00:07Z","aqi":7,"pm25":0.7,"note":"x"}';
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const bytes = Buffer.from(base);
        for (const [at, b] of edits) bytes[at] = b;
        expectSameAsDecoder(PLANS['airQuality']!, bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('writes binary rows byte for byte as the general encoder does, in one pass or two (property)', () => {
    const plan = [col('id', 'bigint', true), col('s', 'text'), col('at', 'timestamptz'), col('i', 'integer'), col('d', 'double'), col('f', 'boolean')];
    const write = compileJsonCopyWriter(plan, new Set(), true)!;
    const general = compileBinaryRowDecoder(plan);
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('plain ascii text of some length', 'a\tb', 'é', '"', 'x'.repeat(37)));
    const number = fc.oneof(fc.integer(), fc.double(), fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 100), fc.constantFrom(2147483647, -2147483648, 2147483648, 9007199254740991, 1e21, -0, 0.1));
    const timestamp = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2024-01-31', '2024-02-30 10:00', '2024-01-01T10:00:00.1234567+05:30'));
    const value = fc.oneof(text, number, fc.boolean(), fc.constant(null), timestamp);
    // Mostly each column's own kind of value, in plan order (the one-pass path); sometimes any value,
    // a missing or extra key, another order.
    const ascii = fc.stringMatching(/^[ !#-[\]-~]{0,60}$/);
    const instant = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
    const own = [fc.integer(), ascii, fc.oneof({ weight: 4, arbitrary: instant }, { weight: 1, arbitrary: timestamp }), fc.integer(), fc.oneof(fc.integer({ min: -1e8, max: 1e8 }).map((n) => n / 1000), fc.double({ noNaN: true, noDefaultInfinity: true }), number), fc.boolean()];
    const record = fc
      .tuple(
        fc.tuple(...own.map((g) => fc.oneof({ weight: 20, arbitrary: g }, { weight: 1, arbitrary: value }, { weight: 1, arbitrary: fc.constant(undefined) }))),
        fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: value }),
        fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        fc.constantFrom(undefined, 1),
      )
      .map(([values, extra, shuffle, space]) => {
        const entries: [string, unknown][] = plan.map((c, k) => [c.name, values[k]]);
        if (extra !== null) entries.splice(3, 0, ['extra', extra]);
        if (shuffle) entries.reverse();
        return Buffer.from(JSON.stringify(Object.fromEntries(entries.filter(([, v]) => v !== undefined)), null, space));
      });
    let taken = 0;
    fc.assert(
      fc.property(record, fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 2 }) }), (bytes, edits) => {
        for (const [at, b] of edits ?? []) bytes[at % bytes.length] = b;
        const out = Buffer.alloc(binaryRowRoom(bytes.length, plan.length) + 3);
        const end = write(bytes, out, 3);
        if (end < 0) return;
        taken++;
        const row = general(bytes);
        expect(Buffer.isBuffer(row), bytes.toString('utf8')).toBe(true);
        expect(out.subarray(3, end).equals(row as Buffer), bytes.toString('utf8')).toBe(true);
      }),
      { numRuns: 5000 },
    );
    expect(taken).toBeGreaterThan(1500);
  });
});
