/**
 * The timestamps kafka.to_postgres takes, on bytes, with what PostgreSQL makes of them: an ISO-8601
 * date, or date-time with optional seconds, fraction (1–9 digits) and zone (Z, ±HH, ±HHMM,
 * ±HH:MM). It checks what PostgreSQL's input would refuse (February 30, year 0, a zone beyond
 * ±15:59), so such a record becomes a dead letter with PostgreSQL's own words instead of failing a
 * COPY of 10,000 rows, and it gives the instant the binary COPY format sends: microseconds since
 * 2000-01-01 00:00 UTC, a zoneless text read as UTC. The fraction is rounded as PostgreSQL's
 * ParseFractionalSecond does: rint(strtod(".fff") × 1,000,000), half to even.
 * (No inner arrow functions: under tsx each call would name a fresh closure, ~0.5 µs a record.)
 */

export const enum TimestampCheck {
  Ok = 0,
  /** Not the grammar above. */
  NotTimestamp = 1,
  /** PostgreSQL: "date/time field value out of range". */
  FieldOutOfRange = 2,
  /** PostgreSQL: "time zone displacement out of range". */
  ZoneOutOfRange = 3,
}

/** What the last parseTimestamp that returned Ok read: the instant, split so it stays exact. */
export const parsedTimestamp = {
  /** Whole seconds since 2000-01-01 00:00 UTC. */
  seconds: 0,
  /** Microseconds to add, 0 to 1,000,000 (a fraction of .9999995 rounds up to the next second). */
  micros: 0,
};

const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;
const PLUS = 0x2b;
const COLON = 0x3a;
const DOT = 0x2e;
const SPACE = 0x20;
/** PostgreSQL's TZDISP_LIMIT: 15:59. */
const MAX_ZONE_MINUTES = 15 * 60 + 59;
/** Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
const DAYS_1970_TO_2000 = 10_957;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 10^0 … 10^9 (a variable `10 ** n` is a call to Math.pow). */
const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
/** The last date parsed (yyyymmdd) and its days since 2000: records in a row mostly share their date. */
let lastDate = -1;
let lastDays = 0;

/** Parses src[i, to); on Ok, parsedTimestamp holds the instant. */
export function parseTimestamp(src: Uint8Array, i: number, to: number): TimestampCheck {
  // yyyy-mm-dd
  if (to - i < 10 || !digits(src, i, 4) || src[i + 4] !== MINUS || !digits(src, i + 5, 2) || src[i + 7] !== MINUS || !digits(src, i + 8, 2)) return TimestampCheck.NotTimestamp;
  const year = twoDigits(src, i) * 100 + twoDigits(src, i + 2);
  const month = twoDigits(src, i + 5);
  const day = twoDigits(src, i + 8);
  if (month < 1 || month > 12 || day < 1 || day > 31) return TimestampCheck.NotTimestamp;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let micros = 0;
  let zoneMinutes = 0;
  let k = i + 10;
  if (k < to) {
    // [T ]hh:mm
    if (to - k < 6 || (src[k] !== 0x54 && src[k] !== SPACE) || !digits(src, k + 1, 2) || src[k + 3] !== COLON || !digits(src, k + 4, 2)) return TimestampCheck.NotTimestamp;
    hour = twoDigits(src, k + 1);
    minute = twoDigits(src, k + 4);
    if (hour > 23 || minute > 59) return TimestampCheck.NotTimestamp;
    k += 6;
    // :ss and .fraction
    if (k < to && src[k] === COLON) {
      if (to - k < 3 || !digits(src, k + 1, 2)) return TimestampCheck.NotTimestamp;
      second = twoDigits(src, k + 1);
      if (second > 59) return TimestampCheck.NotTimestamp;
      k += 3;
      if (k < to && src[k] === DOT) {
        const from = ++k;
        let fraction = 0;
        while (k < to && src[k]! >= ZERO && src[k]! <= NINE) fraction = fraction * 10 + (src[k++]! - ZERO);
        const count = k - from;
        if (count === 0 || count > 9) return TimestampCheck.NotTimestamp;
        micros = count <= 6 ? fraction * POWERS_OF_TEN[6 - count]! : roundHalfEven((fraction / POWERS_OF_TEN[count]!) * 1e6);
      }
    }
    if (k < to) {
      const zone = src[k]!;
      if (zone === 0x5a || zone === 0x7a) {
        // Z or z
        if (++k !== to) return TimestampCheck.NotTimestamp;
      } else {
        if ((zone !== PLUS && zone !== MINUS) || to - k < 3 || !digits(src, k + 1, 2)) return TimestampCheck.NotTimestamp;
        const hours = twoDigits(src, k + 1);
        if (hours > 23) return TimestampCheck.NotTimestamp;
        k += 3;
        let minutes = 0;
        if (k < to) {
          if (src[k] === COLON) k++;
          if (to - k !== 2 || !digits(src, k, 2)) return TimestampCheck.NotTimestamp;
          minutes = twoDigits(src, k);
          if (minutes > 59) return TimestampCheck.NotTimestamp;
          k += 2;
        }
        zoneMinutes = hours * 60 + minutes;
        if (zoneMinutes > MAX_ZONE_MINUTES) return TimestampCheck.ZoneOutOfRange;
        if (zone === MINUS) zoneMinutes = -zoneMinutes;
      }
    }
  }
  const date = year * 10_000 + month * 100 + day;
  if (date !== lastDate) {
    if (year === 0 || day > daysInMonth(year, month)) return TimestampCheck.FieldOutOfRange;
    lastDays = daysFromCivil(year, month, day) - DAYS_1970_TO_2000;
    lastDate = date;
  }
  const days = lastDays;
  parsedTimestamp.seconds = days * 86_400 + hour * 3600 + (minute - zoneMinutes) * 60 + second;
  parsedTimestamp.micros = micros;
  return TimestampCheck.Ok;
}

/** Scratch bytes for parseTimestampText: the longest timestamp is 35 characters. */
const scratch = new Uint8Array(40);

/** parseTimestamp of a string. */
export function parseTimestampText(text: string): TimestampCheck {
  const length = text.length;
  if (length > scratch.length) return TimestampCheck.NotTimestamp;
  for (let k = 0; k < length; k++) {
    const code = text.charCodeAt(k);
    if (code > 0x7f) return TimestampCheck.NotTimestamp;
    scratch[k] = code;
  }
  return parseTimestamp(scratch, 0, length);
}

/** PostgreSQL's message for a timestamp of the grammar that its input refuses. */
export function timestampError(check: TimestampCheck.FieldOutOfRange | TimestampCheck.ZoneOutOfRange, text: string): string {
  return check === TimestampCheck.FieldOutOfRange ? `date/time field value out of range: "${text}"` : `time zone displacement out of range: "${text}"`;
}

function daysInMonth(year: number, month: number): number {
  return month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS_IN_MONTH[month]!;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** C's rint in the default rounding mode. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function digits(src: Uint8Array, i: number, count: number): boolean {
  for (let k = i; k < i + count; k++) {
    const b = src[k]!;
    if (b < ZERO || b > NINE) return false;
  }
  return true;
}

function twoDigits(src: Uint8Array, i: number): number {
  return (src[i]! - ZERO) * 10 + (src[i + 1]! - ZERO);
}
