import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsedTimestamp, parseTimestamp, parseTimestampText, TimestampCheck } from './parse-timestamp.js';

/** The grammar, as the documentation states it: ISO-8601 date or date-time, optional seconds, fraction and zone. */
const GRAMMAR = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;
const EPOCH_2000_MS = Date.UTC(2000, 0, 1);

/** Microseconds since 2000 as a BigInt, or the check when it is not Ok. */
function micros(text: string): bigint | TimestampCheck {
  const check = parseTimestamp(Buffer.from(text), 0, text.length);
  return check === TimestampCheck.Ok ? BigInt(parsedTimestamp.seconds) * 1_000_000n + BigInt(parsedTimestamp.micros) : check;
}

describe('parseTimestamp', () => {
  it('takes exactly the documented grammar (property)', () => {
    const piece = fc.constantFrom('2024', '-', '01', '12', '13', '00', '31', '32', 'T', ' ', '23', '24', ':', '59', '60', '.', '123', '1234567890', 'Z', 'z', '+', '05', '0530', '9', 'x');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const text = pieces.join('');
        expect(parseTimestamp(Buffer.from(text), 0, text.length) !== TimestampCheck.NotTimestamp, text).toBe(GRAMMAR.test(text));
      }),
      { numRuns: 20000 },
    );
  });

  it('gives the instant Date.parse gives for zoned and zoneless (UTC) timestamps of years 1 to 9999 (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), fc.integer({ min: -959, max: 959 }), (date, offsetMinutes) => {
        const iso = date.toISOString();
        expect(micros(iso)).toBe(BigInt(date.getTime() - EPOCH_2000_MS) * 1000n);
        expect(micros(iso.slice(0, -1)), 'zoneless is UTC').toBe(BigInt(date.getTime() - EPOCH_2000_MS) * 1000n);
        // The same wall clock with an offset: the instant moves by it.
        const sign = offsetMinutes < 0 ? '-' : '+';
        const zone = `${sign}${String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMinutes) % 60).padStart(2, '0')}`;
        expect(micros(`${iso.slice(0, -1)}${zone}`)).toBe(BigInt(date.getTime() - EPOCH_2000_MS - offsetMinutes * 60_000) * 1000n);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses what PostgreSQL refuses, with its reason', () => {
    // Each verified against PostgreSQL 15 ('…'::timestamptz).
    expect(micros('2024-02-30')).toBe(TimestampCheck.FieldOutOfRange);
    expect(micros('2023-02-29')).toBe(TimestampCheck.FieldOutOfRange);
    expect(micros('1900-02-29 10:00')).toBe(TimestampCheck.FieldOutOfRange);
    expect(micros('2024-04-31T00:00Z')).toBe(TimestampCheck.FieldOutOfRange);
    expect(micros('0000-01-01T00:00Z')).toBe(TimestampCheck.FieldOutOfRange);
    expect(micros('2024-01-01T10:00+16')).toBe(TimestampCheck.ZoneOutOfRange);
    expect(micros('2024-01-01T10:00+23:00')).toBe(TimestampCheck.ZoneOutOfRange);
    expect(micros('2000-02-29')).toBe(0n + 59n * 86_400_000_000n);
    expect(micros('2024-01-01T10:00+15:59')).toBe(BigInt(Date.parse('2024-01-01T10:00+15:59') - EPOCH_2000_MS) * 1000n);
  });

  it('rounds a fraction of 7 to 9 digits as PostgreSQL does, half to even on the double', () => {
    // PostgreSQL 15: .0000005 → 0 µs, .0000015 → 2, .0000025 → 2, .123456789 → 123457, .9999999 → the next second.
    const base = BigInt(Date.parse('2024-01-01T00:00:00Z') - EPOCH_2000_MS) * 1000n;
    expect(micros('2024-01-01 00:00:00.0000005Z')).toBe(base);
    expect(micros('2024-01-01 00:00:00.0000015Z')).toBe(base + 2n);
    expect(micros('2024-01-01 00:00:00.0000025Z')).toBe(base + 2n);
    expect(micros('2024-01-01 00:00:00.123456789Z')).toBe(base + 123_457n);
    expect(micros('2024-01-01 00:00:59.9999999Z')).toBe(base + 60_000_000n);
    expect(micros('2024-01-01 00:00:00.5')).toBe(base + 500_000n);
  });

  it('reads strings as it reads bytes', () => {
    expect(parseTimestampText('2024-01-31T10:00:00Z')).toBe(TimestampCheck.Ok);
    expect(parseTimestampText('2024-01-31T10:00:00\u00e9')).toBe(TimestampCheck.NotTimestamp);
    expect(parseTimestampText(`2024-01-31T10:00:00.${'1'.repeat(40)}`)).toBe(TimestampCheck.NotTimestamp);
  });
});
