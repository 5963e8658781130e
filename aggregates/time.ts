/**
 * Local calendar arithmetic for the chain's buckets (CONTRACT.md §2, DESIGN.md "Time"). Instants
 * are UTC epoch milliseconds; local dates are `YYYY-MM-DD` strings in a location's IANA zone.
 * Pure: zone offsets come from `Intl`, which is deterministic for a given Node build.
 */

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/**
 * Offsets are cached per quarter hour of UTC. Most transitions fall on a quarter hour, but not all
 * (St John's moved its clocks at 00:01 local, 03:31 UTC, until 2011), so a bucket whose two ends
 * disagree is resolved minute by minute.
 */
const OFFSET_BUCKET_MS = 15 * MS_PER_MINUTE;
/** Marks a bucket that holds a transition. */
const MIXED = Number.NaN;
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCaches = new Map<string, Map<number, number>>();
const dateStrings = new Map<number, string>();

/** Throws a `RangeError` naming the zone when it is not a valid IANA time zone. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC in minutes at `instantMs` (e.g. −240 for New York in summer). */
export function offsetMinutes(instantMs: number, timeZone: string): number {
  const bucket = Math.floor(instantMs / OFFSET_BUCKET_MS);
  let offsetCache = offsetCaches.get(timeZone);
  if (offsetCache === undefined) {
    offsetCache = new Map();
    offsetCaches.set(timeZone, offsetCache);
  }
  let cached = offsetCache.get(bucket);
  if (cached === undefined) {
    const start = bucket * OFFSET_BUCKET_MS;
    const first = probeOffset(start, timeZone);
    const last = probeOffset(start + OFFSET_BUCKET_MS - MS_PER_MINUTE, timeZone);
    cached = first === last ? first : MIXED;
    if (offsetCache.size > 100_000) offsetCache.clear();
    offsetCache.set(bucket, cached);
  }
  if (!Number.isNaN(cached)) return cached;
  return probeOffset(Math.floor(instantMs / MS_PER_MINUTE) * MS_PER_MINUTE, timeZone);
}

/** The offset at one whole-minute instant, from `Intl` (transitions since 1970 fall on whole minutes). */
function probeOffset(probe: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(probe));
  const field = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value);
  const wallAsUtc = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'));
  return Math.round((wallAsUtc - probe) / MS_PER_MINUTE);
}

/** The local date and hour of an instant in a zone. */
export interface LocalTime {
  /** `YYYY-MM-DD` */
  readonly localDate: string;
  /** 0–23 */
  readonly hour: number;
}

export function toLocalTime(instantMs: number, timeZone: string): LocalTime {
  const wallMs = instantMs + offsetMinutes(instantMs, timeZone) * MS_PER_MINUTE;
  const day = Math.floor(wallMs / MS_PER_DAY);
  const hour = Math.floor((wallMs - day * MS_PER_DAY) / 3_600_000);
  return { localDate: dateFromDayNumber(day), hour };
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(localDate: string): number {
  const year = Number(localDate.slice(0, 4));
  const month = Number(localDate.slice(5, 7));
  const day = Number(localDate.slice(8, 10));
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** The `YYYY-MM-DD` date `days` after 1970-01-01. */
export function dateFromDayNumber(days: number): string {
  let date = dateStrings.get(days);
  if (date === undefined) {
    date = new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
    if (dateStrings.size > 100_000) dateStrings.clear();
    dateStrings.set(days, date);
  }
  return date;
}

/**
 * Whether `value` is a `YYYY-MM-DD` date of the calendar: `2023-02-30` is not (`Date.parse` takes it
 * as March 2nd).
 */
export function isCalendarDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && dateFromDayNumber(dayNumber(value)) === value;
}

/** `localDate` moved by `days` (negative for earlier). */
export function addDays(localDate: string, days: number): string {
  return dateFromDayNumber(dayNumber(localDate) + days);
}

/** Whole days from `from` to `to` (`to − from`). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** ISO-8601 week of a local date, `2023-W33` (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(localDate: string): string {
  const day = dayNumber(localDate);
  // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
  const weekday = (((day + 3) % 7) + 7) % 7;
  const thursday = day - weekday + 3;
  const isoYear = dateFromDayNumber(thursday).slice(0, 4);
  const week = Math.floor((thursday - dayNumber(`${isoYear}-01-01`)) / 7) + 1;
  return `${isoYear}-W${String(week).padStart(2, '0')}`;
}

/** Calendar month of a local date, `2023-08`. */
export function month(localDate: string): string {
  return localDate.slice(0, 7);
}

export const Daypart = {
  Breakfast: 'breakfast',
  Lunch: 'lunch',
  Afternoon: 'afternoon',
  Dinner: 'dinner',
  Late: 'late',
} as const;
export type Daypart = (typeof Daypart)[keyof typeof Daypart];

/** breakfast 05–10, lunch 11–14, afternoon 15–16, dinner 17–20, late 21–04 (CONTRACT.md §2). */
export function daypart(hour: number): Daypart {
  if (hour >= 5 && hour <= 10) return Daypart.Breakfast;
  if (hour >= 11 && hour <= 14) return Daypart.Lunch;
  if (hour >= 15 && hour <= 16) return Daypart.Afternoon;
  if (hour >= 17 && hour <= 20) return Daypart.Dinner;
  return Daypart.Late;
}
