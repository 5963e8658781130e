/** The location days a snapshot covers, grouped by location (the input of the location marts). */
import { dayNumber } from '../time.js';
import type { LocationDay } from './input.js';

export interface LocationHistory {
  readonly locationId: string;
  /** The location's days on or before as_of, by date. */
  readonly days: readonly LocationDay[];
  /** Day number of the first local date with orders. */
  readonly firstDay: number;
}

/**
 * The locations with orders on or before `asOf`, each with its days up to then; days after as_of
 * are left out.
 */
export function locationHistories(locationDays: Iterable<LocationDay>, asOf: string): LocationHistory[] {
  const byLocation = new Map<string, LocationDay[]>();
  for (const locationDay of locationDays) {
    if (locationDay.date > asOf) continue;
    let days = byLocation.get(locationDay.locationId);
    if (days === undefined) {
      days = [];
      byLocation.set(locationDay.locationId, days);
    }
    days.push(locationDay);
  }
  const histories: LocationHistory[] = [];
  for (const [locationId, days] of byLocation) {
    days.sort((left, right) => (left.date < right.date ? -1 : left.date > right.date ? 1 : 0));
    const first = days.find((day) => day.orders > 0);
    if (first === undefined) continue;
    histories.push({ locationId, days, firstDay: dayNumber(first.date) });
  }
  return histories;
}
