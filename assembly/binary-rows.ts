// AssemblyScript (compiled by `npm run wasm:build` into src/tasks/kafka-to-postgres/binary-rows-wasm.generated.ts).
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
/** The last date parseTimestamp took (yyyymmdd) and its days since 2000-01-01. */
let lastDate: i32 = -1;
let lastDays: i32 = 0;

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

/** a[0, length) equals b[0, length): a name is short, eight bytes at a time then one by one. */
@inline
function sameBytes(a: usize, b: usize, length: usize): bool {
  let k: usize = 0;
  for (; k + 8 <= length; k += 8) if (load<u64>(a + k) != load<u64>(b + k)) return false;
  for (; k < length; k++) if (load<u8>(a + k) != load<u8>(b + k)) return false;
  return true;
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

/**
 * Copies the plain bytes from src[k] (not a quote, backslash, control byte or non-ASCII) to
 * k + to, 16 at a time (a whole vector is stored, the caller leaves slack); returns the index of
 * the first other byte, or n.
 */
@inline
function copyPlain(k: usize, n: usize, to: usize): usize {
  const quotes = i8x16.splat(<i8>QUOTE);
  const backslashes = i8x16.splat(<i8>BACKSLASH);
  const controls = i8x16.splat(<i8>SPACE);
  while (k + 16 <= n) {
    const v = v128.load(k);
    v128.store(k + to, v);
    // lt_s: below the space, and (as negative bytes) non-ASCII.
    const mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quotes), i8x16.eq(v, backslashes)), i8x16.lt_s(v, controls)));
    if (mask != 0) return k + <usize>ctz<i32>(mask);
    k += 16;
  }
  while (k < n && !stopsText(load<u8>(k))) {
    store<u8>(k + to, load<u8>(k));
    k++;
  }
  return k;
}

/** The fields of the record src[from, n) at out, or -1. */
function writeRow(from: usize, n: usize, out: usize): isize {
  let i = skipSpace(from, n);
  if (i >= n || load<u8>(i) != OPEN_BRACE) return -1;
  i = skipSpace(i + 1, n);
  let o = out;
  for (let c = 0; c < columns; c++) {
    const column = plan + (<usize>c << 4);
    const type = load<i32>(column);
    const name = <usize>load<i32>(column + 8);
    const nameLength = <usize>load<i32>(column + 12);
    // "name"
    if (i >= n || load<u8>(i) != QUOTE || i + 1 + nameLength >= n || load<u8>(i + 1 + nameLength) != QUOTE) return -1;
    if (!sameBytes(i + 1, name, nameLength)) return -1;
    i = skipSpace(i + nameLength + 2, n);
    if (i >= n || load<u8>(i) != COLON) return -1;
    i = skipSpace(i + 1, n);
    if (i >= n) return -1;
    const b = load<u8>(i);
    if (b == QUOTE) {
      if (type == TEXT) {
        // The text's bytes as they are, at the same distance from their source: plain runs 16
        // bytes at a time, valid UTF-8 sequences between them; an escape or a control byte gives
        // the record back. Then the length word before them.
        const to = o + 4 - (i + 1);
        let k = i + 1;
        for (;;) {
          k = copyPlain(k, n, to);
          if (k >= n || load<u8>(k) < 0x80) break;
          const next = scanUtf8(k, n);
          if (next == 0) return -1;
          for (; k < next; k++) store<u8>(k + to, load<u8>(k));
        }
        const p = k + to;
        if (k >= n || load<u8>(k) != QUOTE) return -1;
        store<u32>(o, bswap<u32>(<u32>(p - o - 4)));
        o = p;
        i = k + 1;
      } else if (type == TIMESTAMPTZ) {
        // The timestamp must end at the closing quote: no escape, nothing after it.
        const k = parseTimestamp(i + 1, n);
        if (k == 0) return -1;
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

/** src[k], or 0 at or past n (0 is none of the bytes a timestamp or its closing quote has). */
@inline
function byteAt(k: usize, n: usize): u32 {
  return k < n ? <u32>load<u8>(k) : 0;
}

/** The two digits at src[k…] as a number, or -1. */
@inline
function twoDigits(k: usize, n: usize): i32 {
  const a = byteAt(k, n) - ZERO;
  const b = byteAt(k + 1, n) - ZERO;
  return a > 9 || b > 9 ? -1 : <i32>(a * 10 + b);
}

/**
 * parse-timestamp.ts' parseTimestamp of the string that starts at src[i] and must end at a quote
 * (no escape: a backslash ends the grammar like any other byte), read in one pass: returns the
 * closing quote's index with the instant in `instant`, or 0. Also 0 (given back, for the
 * JavaScript path to decide and name) for a fraction of more than 6 digits, year 0, a day the
 * month does not have and a zone beyond ±15:59.
 */
function parseTimestamp(i: usize, n: usize): usize {
  const century = twoDigits(i, n);
  const years = twoDigits(i + 2, n);
  const month = twoDigits(i + 5, n);
  const day = twoDigits(i + 8, n);
  if (century < 0 || years < 0 || month < 0 || day < 0 || byteAt(i + 4, n) != MINUS || byteAt(i + 7, n) != MINUS) return 0;
  const year = century * 100 + years;
  if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let micros = 0;
  let zoneMinutes = 0;
  let k = i + 10;
  let b = byteAt(k, n);
  if (b == 0x54 || b == SPACE) {
    // Thh:mm
    hour = twoDigits(k + 1, n);
    minute = twoDigits(k + 4, n);
    if (hour < 0 || minute < 0 || byteAt(k + 3, n) != COLON || hour > 23 || minute > 59) return 0;
    k += 6;
    b = byteAt(k, n);
    if (b == COLON) {
      second = twoDigits(k + 1, n);
      if (second < 0 || second > 59) return 0;
      k += 3;
      b = byteAt(k, n);
      if (b == DOT) {
        const from = ++k;
        let fraction = 0;
        let d = byteAt(k, n) - ZERO;
        while (d <= 9 && k - from < 7) {
          fraction = fraction * 10 + <i32>d;
          d = byteAt(++k, n) - ZERO;
        }
        const count = <i32>(k - from);
        if (count == 0 || count > 6) return 0;
        micros = fraction;
        for (let j = count; j < 6; j++) micros *= 10;
        b = byteAt(k, n);
      }
    }
    if (b == 0x5a || b == 0x7a) {
      // Z or z
      b = byteAt(++k, n);
    } else if (b == PLUS || b == MINUS) {
      const hours = twoDigits(k + 1, n);
      if (hours < 0 || hours > 23) return 0;
      k += 3;
      let minutes = 0;
      if (byteAt(k, n) == COLON) {
        minutes = twoDigits(k + 1, n);
        if (minutes < 0) return 0;
        k += 3;
      } else if ((minutes = twoDigits(k, n)) >= 0) k += 2;
      else minutes = 0;
      if (minutes > 59) return 0;
      zoneMinutes = hours * 60 + minutes;
      if (zoneMinutes > MAX_ZONE_MINUTES) return 0;
      if (b == MINUS) zoneMinutes = -zoneMinutes;
      b = byteAt(k, n);
    }
  }
  if (b != QUOTE) return 0;
  // Records in a row mostly share their date: its days are computed once (divisions are slow).
  const date = year * 10000 + month * 100 + day;
  if (date != lastDate) {
    if (year == 0 || day > daysInMonth(year, month)) return 0;
    lastDays = daysFromCivil(year, month, day) - DAYS_1970_TO_2000;
    lastDate = date;
  }
  const seconds = <i64>lastDays * 86400 + <i64>(hour * 3600 + (minute - zoneMinutes) * 60 + second);
  instant = seconds * 1000000 + <i64>micros;
  return k;
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
