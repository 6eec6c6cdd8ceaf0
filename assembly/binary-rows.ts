// AssemblyScript (compiled by `npm run wasm:build` into src/tasks/binary-rows-wasm.ts).
//
// The one-pass byte path of kafka.to_postgres (json-to-copy-line.ts, writeInOrder) for binary
// COPY rows, in WebAssembly with 16-byte SIMD scans: a JSON record whose keys are the plan's
// columns in plan order becomes its row (field count and fields in PostgreSQL's binary COPY
// format). It takes a strict subset of what writeInOrder takes, and writes exactly its bytes for
// those records; every other record is given back (-1) to the JavaScript path, whose rules and
// messages stay the only definition of what a record becomes.
//
// Memory is laid out by the caller (binary-rows-wasm-encoder.ts): the plan (4 i32 per column:
// type, key, where its name's bytes are, their length), the records' values, their starts and
// lengths (i32 each), where each row ends (i32, -1: given back), and the rows. Every address is
// absolute. Reads may run 16 bytes past a value and writes 16 bytes past a row: the caller leaves
// that slack.

// Column kinds, as json-to-copy-line.ts' BinaryKind numbers them.
const TEXT: i32 = 0;
const TIMESTAMPTZ: i32 = 1;
const INTEGER: i32 = 2;
const BIGINT: i32 = 3;
const DOUBLE: i32 = 4;
const BOOLEAN: i32 = 5;

const QUOTE: u8 = 0x22;
const BACKSLASH: u8 = 0x5c;
const COMMA: u8 = 0x2c;
const COLON: u8 = 0x3a;
const OPEN_BRACE: u8 = 0x7b;
const CLOSE_BRACE: u8 = 0x7d;
const MINUS: u8 = 0x2d;
const PLUS: u8 = 0x2b;
const DOT: u8 = 0x2e;
const ZERO: u8 = 0x30;
const NINE: u8 = 0x39;
const SPACE: u8 = 0x20;

/** PostgreSQL's TZDISP_LIMIT: 15:59. */
const MAX_ZONE_MINUTES: i32 = 15 * 60 + 59;
/** Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
const DAYS_1970_TO_2000: i32 = 10957;

let plan: usize = 0;
let columns: i32 = 0;
/** parseTimestamp's instant: microseconds since 2000-01-01 00:00 UTC. */
let instant: i64 = 0;

/** Where the caller may lay out its memory: after this module's own data. */
export function heapBase(): usize {
  return __heap_base;
}

export function setPlan(at: usize, count: i32): void {
  plan = at;
  columns = count;
}

/**
 * Rows of `count` records: the value of record k is [starts[k], starts[k] + lengths[k]) (a
 * length < 0: a null value, given back). Rows go back to back from `out`; ends[k] is where
 * record k's row ends, or -1 when it is given back (it then takes no bytes). With `withSeq` each
 * row starts with a position field of 0 (the caller writes the position). Returns where the rows end.
 */
export function encode(starts: usize, lengths: usize, ends: usize, count: i32, out: usize, withSeq: bool): usize {
  let o = out;
  const fields = withSeq ? columns + 1 : columns;
  for (let k = 0; k < count; k++) {
    const length = load<i32>(lengths + (<usize>k << 2));
    let end: isize = -1;
    if (length >= 0) {
      const from = <usize>load<i32>(starts + (<usize>k << 2));
      store<u16>(o, bswap<u16>(<u16>fields));
      let at = o + 2;
      if (withSeq) {
        store<u32>(at, bswap<u32>(4));
        store<u32>(at + 4, 0);
        at += 8;
      }
      end = writeRow(from, from + <usize>length, at);
    }
    if (end >= 0) o = <usize>end;
    store<i32>(ends + (<usize>k << 2), <i32>end);
  }
  return o;
}

@inline
function skipSpace(i: usize, n: usize): usize {
  while (i < n) {
    const b = load<u8>(i);
    if (b > SPACE || (b != SPACE && b != 0x09 && b != 0x0a && b != 0x0d)) break;
    i++;
  }
  return i;
}

@inline
function isDigit(b: u8): bool {
  return b >= ZERO && b <= NINE;
}

/** A byte that ends plain text: a quote, a backslash, a control byte, non-ASCII. */
@inline
function stopsText(b: u8): bool {
  return b == QUOTE || b == BACKSLASH || b < 0x20 || b >= 0x80;
}

/** The fields of the record src[from, n) at out, or -1. */
function writeRow(from: usize, n: usize, out: usize): isize {
  let i = skipSpace(from, n);
  if (i >= n || load<u8>(i) != OPEN_BRACE) return -1;
  i = skipSpace(i + 1, n);
  let o = out;
  const quotes = i8x16.splat(<i8>QUOTE);
  const backslashes = i8x16.splat(<i8>BACKSLASH);
  const controls = i8x16.splat(<i8>SPACE);
  for (let c = 0; c < columns; c++) {
    const column = plan + (<usize>c << 4);
    const type = load<i32>(column);
    const name = <usize>load<i32>(column + 8);
    const nameLength = <usize>load<i32>(column + 12);
    // "name"
    if (i >= n || load<u8>(i) != QUOTE || i + 1 + nameLength >= n || load<u8>(i + 1 + nameLength) != QUOTE) return -1;
    if (memory.compare(i + 1, name, nameLength) != 0) return -1;
    i = skipSpace(i + nameLength + 2, n);
    if (i >= n || load<u8>(i) != COLON) return -1;
    i = skipSpace(i + 1, n);
    if (i >= n) return -1;
    const b = load<u8>(i);
    if (b == QUOTE) {
      if (type == TEXT) {
        // Plain ASCII up to the closing quote, 16 bytes at a time: the length word, then the bytes.
        let k = i + 1;
        let p = o + 4;
        let stopped = false;
        while (k + 16 <= n) {
          const v = v128.load(k);
          v128.store(p, v);
          // lt_s: below the space, and (as negative bytes) non-ASCII.
          const mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quotes), i8x16.eq(v, backslashes)), i8x16.lt_s(v, controls)));
          if (mask != 0) {
            const t = <usize>ctz<i32>(mask);
            k += t;
            p += t;
            stopped = true;
            break;
          }
          k += 16;
          p += 16;
        }
        for (;;) {
          if (!stopped) {
            while (k < n && !stopsText(load<u8>(k))) {
              store<u8>(p, load<u8>(k));
              k++;
              p++;
            }
          }
          // Valid UTF-8 is copied as it is; then the plain run goes on.
          if (k >= n || load<u8>(k) < 0x80) break;
          const next = scanUtf8(k, n);
          if (next == 0) return -1;
          while (k < next) store<u8>(p++, load<u8>(k++));
          stopped = false;
          while (k + 16 <= n) {
            const v = v128.load(k);
            v128.store(p, v);
            const mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quotes), i8x16.eq(v, backslashes)), i8x16.lt_s(v, controls)));
            if (mask != 0) {
              const t = <usize>ctz<i32>(mask);
              k += t;
              p += t;
              stopped = true;
              break;
            }
            k += 16;
            p += 16;
          }
        }
        if (k >= n || load<u8>(k) != QUOTE) return -1;
        store<u32>(o, bswap<u32>(<u32>(p - o - 4)));
        o = p;
        i = k + 1;
      } else if (type == TIMESTAMPTZ) {
        // Only what parseTimestamp reads: ASCII without escapes (anything else is given back).
        let k = i + 1;
        while (k < n && !stopsText(load<u8>(k))) k++;
        if (k >= n || load<u8>(k) != QUOTE || !parseTimestamp(i + 1, k)) return -1;
        store<u32>(o, bswap<u32>(8));
        store<u64>(o + 4, bswap<u64>(<u64>instant));
        o += 12;
        i = k + 1;
      } else return -1;
    } else if (b == MINUS || isDigit(b)) {
      // -?(0|[1-9][0-9]*)(.[0-9]+)? of at most 15 digits from the first non-zero one, no exponent;
      // integer and bigint columns take integers only (writeInOrder takes 1.0 too: given back).
      const negative = b == MINUS;
      if (negative) i++;
      if (i >= n) return -1;
      let mantissa: i64 = 0;
      let significant = 0;
      let fraction = 0;
      let d = load<u8>(i);
      if (d == ZERO) i++;
      else if (isDigit(d)) {
        while (i < n && isDigit((d = load<u8>(i)))) {
          mantissa = mantissa * 10 + <i64>(d - ZERO);
          significant++;
          i++;
        }
      } else return -1;
      if (i < n && load<u8>(i) == DOT) {
        if (type != DOUBLE) return -1;
        i++;
        while (i < n && isDigit((d = load<u8>(i)))) {
          mantissa = mantissa * 10 + <i64>(d - ZERO);
          if (mantissa != 0) significant++;
          fraction++;
          i++;
        }
        if (fraction == 0) return -1;
      }
      if (significant > 15 || fraction > 22) return -1;
      if (i < n && (load<u8>(i) == 0x65 || load<u8>(i) == 0x45)) return -1;
      if (type == INTEGER) {
        if (significant > 10) return -1;
        const value = negative ? -mantissa : mantissa;
        if (value < -2147483648 || value > 2147483647) return -1;
        store<u32>(o, bswap<u32>(4));
        store<u32>(o + 4, bswap<u32>(<u32>value));
        o += 8;
      } else if (type == BIGINT) {
        store<u32>(o, bswap<u32>(8));
        store<u64>(o + 4, bswap<u64>(<u64>(negative ? -mantissa : mantissa)));
        o += 12;
      } else if (type == DOUBLE) {
        // One division of exact doubles: correctly rounded, the double nearest the decimal, as
        // Number(text) gives; + 0 writes -0 as 0, as String(-0) prints it.
        let value = <f64>mantissa;
        if (fraction > 0) value = value / powerOfTen(fraction);
        if (negative) value = -value;
        value = value + 0.0;
        store<u32>(o, bswap<u32>(8));
        store<u64>(o + 4, bswap<u64>(reinterpret<u64>(value)));
        o += 12;
      } else return -1;
    } else if (b == 0x74 /* t */) {
      if (type != BOOLEAN || i + 4 > n || load<u32>(i) != 0x65757274 /* true */) return -1;
      store<u32>(o, bswap<u32>(1));
      store<u8>(o + 4, 1);
      o += 5;
      i += 4;
    } else if (b == 0x66 /* f */) {
      if (type != BOOLEAN || i + 5 > n || load<u32>(i + 1) != 0x65736c61 /* alse */) return -1;
      store<u32>(o, bswap<u32>(1));
      store<u8>(o + 4, 0);
      o += 5;
      i += 5;
    } else if (b == 0x6e /* n */) {
      if (load<i32>(column + 4) != 0 || i + 4 > n || load<u32>(i) != 0x6c6c756e /* null */) return -1;
      store<i32>(o, -1);
      o += 4;
      i += 4;
    } else return -1;
    i = skipSpace(i, n);
    if (c < columns - 1) {
      if (i >= n || load<u8>(i) != COMMA) return -1;
      i = skipSpace(i + 1, n);
    }
  }
  if (i >= n || load<u8>(i) != CLOSE_BRACE || skipSpace(i + 1, n) != n) return -1;
  return <isize>o;
}

/**
 * One UTF-8 sequence starting at a byte ≥ 0x80 (RFC 3629: no overlong forms, no surrogates), as
 * json-to-copy-line.ts' scanUtf8 takes it: the index after it, or 0.
 */
function scanUtf8(i: usize, n: usize): usize {
  const b = load<u8>(i);
  let need: usize;
  let low: u8 = 0x80;
  let high: u8 = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b == 0xe0) low = 0xa0;
    else if (b == 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b == 0xf0) low = 0x90;
    else if (b == 0xf4) high = 0x8f;
  } else return 0;
  if (i + need >= n) return 0;
  const second = load<u8>(i + 1);
  if (second < low || second > high) return 0;
  for (let k: usize = 2; k <= need; k++) {
    const c = load<u8>(i + k);
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return i + need + 1;
}

function powerOfTen(k: i32): f64 {
  let p: f64 = 1;
  for (let j = 0; j < k; j++) p *= 10;
  return p;
}

@inline
function twoDigits(i: usize): i32 {
  return <i32>(load<u8>(i) - ZERO) * 10 + <i32>(load<u8>(i + 1) - ZERO);
}

@inline
function digits(i: usize, count: usize): bool {
  for (let k = i; k < i + count; k++) if (!isDigit(load<u8>(k))) return false;
  return true;
}

/**
 * parse-timestamp.ts' parseTimestamp for src[i, to), with the instant in `instant`; false for
 * what it does not take, and (given back, for the JavaScript path to decide) for a fraction of
 * more than 6 digits, year 0, a day the month does not have and a zone beyond ±15:59.
 */
function parseTimestamp(i: usize, to: usize): bool {
  if (to - i < 10 || !digits(i, 4) || load<u8>(i + 4) != MINUS || !digits(i + 5, 2) || load<u8>(i + 7) != MINUS || !digits(i + 8, 2)) return false;
  const year = twoDigits(i) * 100 + twoDigits(i + 2);
  const month = twoDigits(i + 5);
  const day = twoDigits(i + 8);
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let micros = 0;
  let zoneMinutes = 0;
  let k = i + 10;
  if (k < to) {
    const t = load<u8>(k);
    if (to - k < 6 || (t != 0x54 && t != SPACE) || !digits(k + 1, 2) || load<u8>(k + 3) != COLON || !digits(k + 4, 2)) return false;
    hour = twoDigits(k + 1);
    minute = twoDigits(k + 4);
    if (hour > 23 || minute > 59) return false;
    k += 6;
    if (k < to && load<u8>(k) == COLON) {
      if (to - k < 3 || !digits(k + 1, 2)) return false;
      second = twoDigits(k + 1);
      if (second > 59) return false;
      k += 3;
      if (k < to && load<u8>(k) == DOT) {
        const from = ++k;
        let fraction = 0;
        while (k < to && isDigit(load<u8>(k)) && k - from < 7) fraction = fraction * 10 + <i32>(load<u8>(k++) - ZERO);
        const count = <i32>(k - from);
        if (count == 0 || count > 6) return false;
        micros = fraction;
        for (let j = count; j < 6; j++) micros *= 10;
      }
    }
    if (k < to) {
      const zone = load<u8>(k);
      if (zone == 0x5a || zone == 0x7a) {
        if (++k != to) return false;
      } else {
        if ((zone != PLUS && zone != MINUS) || to - k < 3 || !digits(k + 1, 2)) return false;
        const hours = twoDigits(k + 1);
        if (hours > 23) return false;
        k += 3;
        let minutes = 0;
        if (k < to) {
          if (load<u8>(k) == COLON) k++;
          if (to - k != 2 || !digits(k, 2)) return false;
          minutes = twoDigits(k);
          if (minutes > 59) return false;
          k += 2;
        }
        zoneMinutes = hours * 60 + minutes;
        if (zoneMinutes > MAX_ZONE_MINUTES) return false;
        if (zone == MINUS) zoneMinutes = -zoneMinutes;
      }
    }
  }
  if (year == 0 || day > daysInMonth(year, month)) return false;
  const days = <i64>(daysFromCivil(year, month, day) - DAYS_1970_TO_2000);
  const seconds = days * 86400 + <i64>(hour * 3600 + (minute - zoneMinutes) * 60 + second);
  instant = seconds * 1000000 + <i64>micros;
  return true;
}

function daysInMonth(year: i32, month: i32): i32 {
  if (month == 2) return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a date of years 1–9999 (H. Hinnant's days_from_civil). */
function daysFromCivil(year: i32, month: i32, day: i32): i32 {
  const y = month <= 2 ? year - 1 : year;
  const era = y / 400;
  const yearOfEra = y - era * 400;
  const dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}
