/**
 * Missing uploads (issue #8): per location, a local date is missing when no file with accepted
 * orders for it has arrived by its due time (a local time some days after the date, in the
 * location's zone), unless the location is marked closed that day. Pure: the clock, the arrivals
 * the poller recorded and the closures are passed in.
 */
import { addDays, dayNumber, offsetMinutes, toLocalTime } from '../../aggregates/time.js';

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/** The location id of a closure that applies to every location (as `ALL` names the chain in the marts). */
export const EVERY_LOCATION = 'ALL';

/** A location that has uploaded before: it is checked from its first local date with orders on. */
export interface UploadingLocation {
  readonly locationId: string;
  /** IANA zone: from the locations file, else the default zone. */
  readonly timeZone: string;
  /** The first local date any file brought orders for; earlier dates are never missing. */
  readonly firstLocalDate: string;
}

/** A location (or `ALL`, every location) closed from `from` to `to`, both included. */
export interface Closure {
  readonly locationId: string;
  readonly from: string;
  readonly to: string;
  readonly note?: string;
}

/** When uploads are due, and how far back to look. */
export interface UploadDeadline {
  /** `HH:MM`, local time of the location. */
  readonly dueLocalTime: string;
  /** Days after the local date: 1 = the next day at `dueLocalTime`. */
  readonly dueDaysAfter: number;
  /** Dates from the location's today − this many days are checked. */
  readonly lookbackDays: number;
}

export interface MissingUploadsInput extends UploadDeadline {
  readonly locations: readonly UploadingLocation[];
  /** `arrivalKey(locationId, localDate)` of every date a file brought accepted orders for. */
  readonly arrived: ReadonlySet<string>;
  readonly closures: readonly Closure[];
  readonly nowMs: number;
}

/** A location and local date whose upload is overdue. */
export interface MissingUpload {
  readonly locationId: string;
  readonly localDate: string;
  /** The instant the upload was due. */
  readonly dueAtMs: number;
}

export class UploadDeadlineError extends Error {
  override name = 'UploadDeadlineError';
  constructor(
    message: string,
    readonly value: string,
  ) {
    super(message);
  }
}

/** The key of one location's local date in `arrived`. */
export function arrivalKey(locationId: string, localDate: string): string {
  return `${localDate}#${locationId}`;
}

/** Minutes after midnight of an `HH:MM` time; throws `UploadDeadlineError` for anything else. */
export function minutesOfDay(localTime: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(localTime);
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (match === null || hours > 23 || minutes > 59) {
    throw new UploadDeadlineError(
      `a local time must be HH:MM, 00:00–23:59 (given ${JSON.stringify(localTime)})`,
      localTime,
    );
  }
  return hours * 60 + minutes;
}

/**
 * The instant of a local wall-clock time in a zone. A time skipped by a DST change resolves to the
 * same distance after the change (02:30 on a spring-forward night → 03:30), a time that happens
 * twice to its first occurrence: `Temporal`'s `compatible` disambiguation.
 */
export function localInstant(localDate: string, minutes: number, timeZone: string): number {
  const wallMs = dayNumber(localDate) * MS_PER_DAY + minutes * MS_PER_MINUTE;
  // Zones are within ±14 h of UTC, and no zone changes its offset twice in two days.
  const offsetBefore = offsetMinutes(wallMs - MS_PER_DAY, timeZone);
  const offsetAfter = offsetMinutes(wallMs + MS_PER_DAY, timeZone);
  const valid = [offsetBefore, offsetAfter]
    .map((offset) => wallMs - offset * MS_PER_MINUTE)
    .filter((instant) => instant + offsetMinutes(instant, timeZone) * MS_PER_MINUTE === wallMs);
  if (valid.length > 0) return Math.min(...valid);
  return wallMs - offsetBefore * MS_PER_MINUTE;
}

/** The instant a location's upload for `localDate` is due. */
export function dueAt(localDate: string, timeZone: string, deadline: UploadDeadline): number {
  return localInstant(
    addDays(localDate, deadline.dueDaysAfter),
    minutesOfDay(deadline.dueLocalTime),
    timeZone,
  );
}

/** True when `closures` mark the location (or every location) closed on `localDate`. */
export function isClosed(closures: readonly Closure[], locationId: string, localDate: string): boolean {
  return closures.some(
    (closure) =>
      (closure.locationId === locationId || closure.locationId === EVERY_LOCATION) &&
      closure.from <= localDate &&
      localDate <= closure.to,
  );
}

/**
 * The overdue uploads: for each location, the local dates from its today − `lookbackDays` to its
 * today, on or after its first date, past their due time, with no arrival and no closure. Sorted
 * by date, then location id.
 *
 * @example
 * missingUploads({
 *   locations: [{ locationId: 'a1', timeZone: 'America/Los_Angeles', firstLocalDate: '2024-01-01' }],
 *   arrived: new Set([arrivalKey('a1', '2024-03-01')]),
 *   closures: [],
 *   nowMs: Date.parse('2024-03-03T20:00:00Z'),
 *   dueLocalTime: '10:00', dueDaysAfter: 1, lookbackDays: 7,
 * });
 * // → 2024-02-25 … 2024-02-29 and 2024-03-02 (due 2024-03-03 10:00 in Los Angeles = 18:00Z)
 */
export function missingUploads(input: MissingUploadsInput): MissingUpload[] {
  const dueMinutes = minutesOfDay(input.dueLocalTime);
  const missing: MissingUpload[] = [];
  for (const location of input.locations) {
    const today = toLocalTime(input.nowMs, location.timeZone).localDate;
    for (let back = input.lookbackDays; back >= 0; back--) {
      const localDate = addDays(today, -back);
      if (localDate < location.firstLocalDate) continue;
      const dueAtMs = localInstant(addDays(localDate, input.dueDaysAfter), dueMinutes, location.timeZone);
      if (dueAtMs > input.nowMs) continue;
      if (input.arrived.has(arrivalKey(location.locationId, localDate))) continue;
      if (isClosed(input.closures, location.locationId, localDate)) continue;
      missing.push({ locationId: location.locationId, localDate, dueAtMs });
    }
  }
  return missing.sort((a, b) =>
    a.localDate === b.localDate
      ? compareBytes(a.locationId, b.locationId)
      : a.localDate < b.localDate
        ? -1
        : 1,
  );
}

/** A location's local dates with accepted orders, from lines (restaurant, zone, instant). */
export function arrivalsOfLines(
  lines: Iterable<{ readonly restaurantId: string; readonly timeZone: string; readonly createdAtMs: number }>,
): { locationId: string; localDate: string }[] {
  const seen = new Map<string, { locationId: string; localDate: string }>();
  for (const line of lines) {
    const localDate = toLocalTime(line.createdAtMs, line.timeZone).localDate;
    const key = arrivalKey(line.restaurantId, localDate);
    if (!seen.has(key)) seen.set(key, { locationId: line.restaurantId, localDate });
  }
  return [...seen.values()];
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
