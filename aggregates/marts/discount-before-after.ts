/**
 * `discount_before_after`: per location with orders on or before as_of, the date d of its first
 * discounted order, and orders per day and net revenue per day before it, over the days
 * max(d − 30, first local date) … d − 1, and from it, over d … min(d + 29, as_of) (CONTRACT.md §2,
 * §3). Each is divided by the number of calendar days in its window (days without orders count); a
 * window without days leaves its figures empty, and a location without any discount has a row with
 * empty figures. Rows are sorted by location id.
 */
import { dateFromDayNumber, dayNumber } from '../time.js';
import { arrayMart, column, compareUtf8, type Mart, MartName } from './columns.js';
import { type Fraction, fraction } from './fraction.js';
import type { LocationDay } from './input.js';
import { locationHistories } from './locations.js';
import type { MartSettings } from './settings.js';

export interface DiscountBeforeAfterRow {
  readonly locationId: string;
  readonly firstDiscountDate: string | null;
  readonly ordersPerDayBefore: Fraction | null;
  readonly ordersPerDayAfter: Fraction | null;
  readonly revenuePerDayBeforeCents: Fraction | null;
  readonly revenuePerDayAfterCents: Fraction | null;
}

export const discountBeforeAfterColumns = [
  column.text<DiscountBeforeAfterRow>('location_id', (row) => row.locationId),
  column.date<DiscountBeforeAfterRow>('first_discount_date', (row) => row.firstDiscountDate),
  column.ratio<DiscountBeforeAfterRow>('orders_per_day_before', (row) => row.ordersPerDayBefore),
  column.ratio<DiscountBeforeAfterRow>('orders_per_day_after', (row) => row.ordersPerDayAfter),
  column.money<DiscountBeforeAfterRow>('revenue_per_day_before', (row) => row.revenuePerDayBeforeCents),
  column.money<DiscountBeforeAfterRow>('revenue_per_day_after', (row) => row.revenuePerDayAfterCents),
] as const;

/**
 * The `discount_before_after` mart.
 *
 * @example
 * const mart = discountBeforeAfter(locationDays, '2023-08-31', defaultMartSettings);
 */
export function discountBeforeAfter(
  locationDays: Iterable<LocationDay>,
  asOf: string,
  settings: MartSettings,
): Mart<DiscountBeforeAfterRow> {
  const asOfDay = dayNumber(asOf);
  const windowDays = settings.discountWindowDays;
  const rows: DiscountBeforeAfterRow[] = [];
  for (const history of locationHistories(locationDays, asOf)) {
    const firstDiscount = history.days.find((day) => day.discountedOrders > 0);
    if (firstDiscount === undefined) {
      rows.push({
        locationId: history.locationId,
        firstDiscountDate: null,
        ordersPerDayBefore: null,
        ordersPerDayAfter: null,
        revenuePerDayBeforeCents: null,
        revenuePerDayAfterCents: null,
      });
      continue;
    }
    const discountDay = dayNumber(firstDiscount.date);
    const beforeStart = Math.max(discountDay - windowDays, history.firstDay);
    const afterEnd = Math.min(discountDay + windowDays - 1, asOfDay);
    const beforeDays = discountDay - beforeStart;
    const afterDays = afterEnd - discountDay + 1;
    let ordersBefore = 0;
    let revenueBeforeCents = 0;
    let ordersAfter = 0;
    let revenueAfterCents = 0;
    for (const day of history.days) {
      const dayOfOrders = dayNumber(day.date);
      if (dayOfOrders >= beforeStart && dayOfOrders < discountDay) {
        ordersBefore += day.orders;
        revenueBeforeCents += day.netCents;
      } else if (dayOfOrders >= discountDay && dayOfOrders <= afterEnd) {
        ordersAfter += day.orders;
        revenueAfterCents += day.netCents;
      }
    }
    rows.push({
      locationId: history.locationId,
      firstDiscountDate: dateFromDayNumber(discountDay),
      ordersPerDayBefore: beforeDays > 0 ? fraction(ordersBefore, beforeDays) : null,
      ordersPerDayAfter: afterDays > 0 ? fraction(ordersAfter, afterDays) : null,
      revenuePerDayBeforeCents: beforeDays > 0 ? fraction(revenueBeforeCents, beforeDays) : null,
      revenuePerDayAfterCents: afterDays > 0 ? fraction(revenueAfterCents, afterDays) : null,
    });
  }
  rows.sort((left, right) => compareUtf8(left.locationId, right.locationId));
  return arrayMart(MartName.DiscountBeforeAfter, ['location_id'], discountBeforeAfterColumns, rows);
}
