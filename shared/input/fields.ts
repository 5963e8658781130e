/**
 * Field parsers for the export format (CONTRACT.md §1). Hand-written character loops: they run
 * several times per row on millions of rows, where a regex or `Date.parse` per field would dominate
 * the parse time. Each returns `NaN` (or `null`) for a value it does not accept; the caller names
 * the reason.
 */

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_MINUS = 45;
const CHAR_PLUS = 43;
const CHAR_DOT = 46;
const CHAR_COLON = 58;
const CHAR_SPACE = 32;
const CHAR_TAB = 9;

const MS_PER_DAY = 86_400_000;

/**
 * Largest accepted magnitude of a price, in cents ($9,999,999.99): with quantities capped at
 * `MAX_QUANTITY`, a line's cents stay far inside `Number.MAX_SAFE_INTEGER`.
 */
export const MAX_PRICE_CENTS = 999_999_999;
/** Largest accepted quantity; larger literals are `bad_quantity`. */
export const MAX_QUANTITY = 1_000_000;

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

/** `value` without surrounding spaces or tabs; returns the same string when there are none (no allocation). */
export function trimBlank(value: string): string {
  const length = value.length;
  if (length === 0) return value;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(length - 1);
  if (first !== CHAR_SPACE && first !== CHAR_TAB && last !== CHAR_SPACE && last !== CHAR_TAB) return value;
  return value.trim();
}

/**
 * A decimal money literal as integer cents, exactly: `19.99` → 1999, `2.5` → 250, `7` → 700,
 * `-0.50` → −50. At most two decimals; no exponent, sign `+`, thousands separator or currency
 * symbol. `NaN` for anything else, including magnitudes above `MAX_PRICE_CENTS`.
 */
export function parseCents(literal: string): number {
  const text = trimBlank(literal);
  const length = text.length;
  let index = 0;
  let negative = false;
  if (length > 0 && text.charCodeAt(0) === CHAR_MINUS) {
    negative = true;
    index = 1;
  }
  const integerStart = index;
  let units = 0;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (!isDigit(code)) break;
    units = units * 10 + (code - CHAR_0);
    index++;
  }
  if (index === integerStart || index - integerStart > 12) return Number.NaN;
  let cents = units * 100;
  if (index < length) {
    if (text.charCodeAt(index) !== CHAR_DOT) return Number.NaN;
    const decimals = length - index - 1;
    if (decimals < 1 || decimals > 2) return Number.NaN;
    const tenths = text.charCodeAt(index + 1);
    if (!isDigit(tenths)) return Number.NaN;
    cents += (tenths - CHAR_0) * 10;
    if (decimals === 2) {
      const hundredths = text.charCodeAt(index + 2);
      if (!isDigit(hundredths)) return Number.NaN;
      cents += hundredths - CHAR_0;
    }
  }
  if (cents > MAX_PRICE_CENTS) return Number.NaN;
  // `-0.00` is zero, not negative zero.
  return negative && cents !== 0 ? -cents : cents;
}

/** An integer literal 1 … `MAX_QUANTITY` (`1.5`, `0`, `-1`, `+1`, `1e2` are not); `NaN` otherwise. */
export function parseQuantity(literal: string): number {
  const text = trimBlank(literal);
  const length = text.length;
  if (length === 0) return Number.NaN;
  let quantity = 0;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (!isDigit(code)) return Number.NaN;
    quantity = quantity * 10 + (code - CHAR_0);
    if (quantity > MAX_QUANTITY) return Number.NaN;
  }
  return quantity < 1 ? Number.NaN : quantity;
}

/** `TRUE`/`FALSE`/`1`/`0` in any letter case; empty is `false`; `null` for anything else. */
export function parseBoolean(literal: string): boolean | null {
  const text = trimBlank(literal);
  switch (text.length) {
    case 0:
      return false;
    case 1:
      if (text === '1') return true;
      if (text === '0') return false;
      return null;
    case 4:
      if (text === 'TRUE' || text === 'true' || text.toUpperCase() === 'TRUE') return true;
      return null;
    case 5:
      if (text === 'FALSE' || text === 'false' || text.toUpperCase() === 'FALSE') return false;
      return null;
    default:
      return null;
  }
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12), without `Date`. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const shiftedYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(shiftedYear / 400);
  const yearOfEra = shiftedYear - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) {
    const code = text.charCodeAt(index);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - CHAR_0);
  }
  return value;
}

/** Earliest accepted year: an order before 1970 is a broken clock, not history. */
const MIN_YEAR = 1970;

/**
 * An ISO-8601 date-time as epoch milliseconds: `YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH[:MM]|±HHMM]`,
 * `T` or a space between date and time, no offset meaning UTC, fractions beyond milliseconds
 * truncated. A date without a time, an impossible date (Feb 30), hour 24, a leap second or a year
 * before 1970 gives `NaN`.
 */
export function parseInstant(literal: string): number {
  const text = trimBlank(literal);
  const length = text.length;
  if (length < 16) return Number.NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < MIN_YEAR || month < 1 || month > 12 || day < 1) return Number.NaN;
  if (text.charCodeAt(4) !== CHAR_MINUS || text.charCodeAt(7) !== CHAR_MINUS) return Number.NaN;
  if (day > daysInMonth(year, month)) return Number.NaN;
  const separator = text.charCodeAt(10);
  // 'T', 't' or a space.
  if (separator !== 84 && separator !== 116 && separator !== CHAR_SPACE) return Number.NaN;
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  if (text.charCodeAt(13) !== CHAR_COLON || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return Number.NaN;
  }
  let index = 16;
  let second = 0;
  let millisecond = 0;
  if (index < length && text.charCodeAt(index) === CHAR_COLON) {
    second = digits(text, 17, 2);
    if (second < 0 || second > 59 || length < 19) return Number.NaN;
    index = 19;
    if (index < length && text.charCodeAt(index) === CHAR_DOT) {
      index++;
      const fractionStart = index;
      let scale = 100;
      while (index < length && isDigit(text.charCodeAt(index))) {
        // Digits past the milliseconds are truncated.
        millisecond += (text.charCodeAt(index) - CHAR_0) * scale;
        scale = scale === 1 ? 0 : scale / 10;
        index++;
      }
      const fractionDigits = index - fractionStart;
      if (fractionDigits < 1 || fractionDigits > 9) return Number.NaN;
    }
  }
  let offsetMinutes = 0;
  if (index < length) {
    const sign = text.charCodeAt(index);
    if (sign === 90 || sign === 122) {
      // 'Z' or 'z' ends the literal.
      if (index + 1 !== length) return Number.NaN;
    } else if (sign === CHAR_PLUS || sign === CHAR_MINUS) {
      const rest = length - index - 1;
      const offsetHour = digits(text, index + 1, 2);
      let offsetMinute = 0;
      if (rest === 2) offsetMinute = 0;
      else if (rest === 4) offsetMinute = digits(text, index + 3, 2);
      else if (rest === 5 && text.charCodeAt(index + 3) === CHAR_COLON)
        offsetMinute = digits(text, index + 4, 2);
      else return Number.NaN;
      if (offsetHour < 0 || offsetHour > 23 || offsetMinute < 0 || offsetMinute > 59) return Number.NaN;
      offsetMinutes = (sign === CHAR_MINUS ? -1 : 1) * (offsetHour * 60 + offsetMinute);
    } else {
      return Number.NaN;
    }
  }
  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    millisecond
  );
}

/** A calendar key `DD-MM-YYYY` (the date_dim format) as `YYYY-MM-DD`; `null` when it is not a real date. */
export function parseDayMonthYear(literal: string): string | null {
  const text = trimBlank(literal);
  if (text.length !== 10 || text.charCodeAt(2) !== CHAR_MINUS || text.charCodeAt(5) !== CHAR_MINUS)
    return null;
  const day = digits(text, 0, 2);
  const month = digits(text, 3, 2);
  const year = digits(text, 6, 4);
  if (day < 1 || month < 1 || month > 12 || year < 1 || day > daysInMonth(year, month)) return null;
  return `${text.slice(6, 10)}-${text.slice(3, 5)}-${text.slice(0, 2)}`;
}
