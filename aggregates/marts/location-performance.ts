/**
 * `location_performance`: one row per location with orders on or before as_of (CONTRACT.md §2,
 * §3): net revenue, orders, average order value, active days (dates with orders), orders per day
 * = orders / span and per week = 7 × orders / span, where span = as_of − first local date + 1 (both
 * ends counted); revenue and orders of the last 30 days (as_of − 29 … as_of); distinct customers
 * and repeat-customer rate counting orders at that location only; ranked 1… by net revenue, ties
 * by location id in UTF-8 byte order. Rows are sorted by location id.
 */
import { dayNumber } from '../time.js';
import { arrayMart, column, compareUtf8, type Mart, MartName } from './columns.js';
import { type Fraction, fraction, fractionOrNull } from './fraction.js';
import type { LocationDay } from './input.js';
import { locationHistories } from './locations.js';
import type { CustomerPopulation } from './population.js';
import type { MartSettings } from './settings.js';

export interface LocationPerformanceRow {
  readonly locationId: string;
  readonly rank: number;
  readonly revenueCents: number;
  readonly orders: number;
  readonly avgOrderValueCents: Fraction | null;
  readonly activeDays: number;
  readonly ordersPerDay: Fraction;
  readonly ordersPerWeek: Fraction;
  readonly revenue30dCents: number;
  readonly orders30d: number;
  readonly customers: number;
  readonly repeatCustomerRate: Fraction | null;
}

export const locationPerformanceColumns = [
  column.text<LocationPerformanceRow>('location_id', (row) => row.locationId),
  column.count<LocationPerformanceRow>('rank', (row) => row.rank),
  column.money<LocationPerformanceRow>('revenue', (row) => row.revenueCents),
  column.count<LocationPerformanceRow>('orders', (row) => row.orders),
  column.money<LocationPerformanceRow>('avg_order_value', (row) => row.avgOrderValueCents),
  column.count<LocationPerformanceRow>('active_days', (row) => row.activeDays),
  column.ratio<LocationPerformanceRow>('orders_per_day', (row) => row.ordersPerDay),
  column.ratio<LocationPerformanceRow>('orders_per_week', (row) => row.ordersPerWeek),
  column.money<LocationPerformanceRow>('revenue_30d', (row) => row.revenue30dCents),
  column.count<LocationPerformanceRow>('orders_30d', (row) => row.orders30d),
  column.count<LocationPerformanceRow>('customers', (row) => row.customers),
  column.ratio<LocationPerformanceRow>('repeat_customer_rate', (row) => row.repeatCustomerRate),
] as const;

/**
 * The `location_performance` mart.
 *
 * @example
 * const mart = locationPerformance(locationDays, population, '2023-08-31', defaultMartSettings);
 */
export function locationPerformance(
  locationDays: Iterable<LocationDay>,
  population: CustomerPopulation,
  asOf: string,
  settings: MartSettings,
): Mart<LocationPerformanceRow> {
  const asOfDay = dayNumber(asOf);
  const recentStart = asOfDay - settings.recentDays + 1;
  const unranked: Omit<LocationPerformanceRow, 'rank'>[] = [];
  for (const history of locationHistories(locationDays, asOf)) {
    let revenueCents = 0;
    let orders = 0;
    let revenue30dCents = 0;
    let orders30d = 0;
    const activeDates = new Set<string>();
    for (const day of history.days) {
      revenueCents += day.netCents;
      orders += day.orders;
      if (day.orders > 0) activeDates.add(day.date);
      if (dayNumber(day.date) >= recentStart) {
        revenue30dCents += day.netCents;
        orders30d += day.orders;
      }
    }
    const span = asOfDay - history.firstDay + 1;
    const customers = population.byLocation.get(history.locationId);
    unranked.push({
      locationId: history.locationId,
      revenueCents,
      orders,
      avgOrderValueCents: fractionOrNull(revenueCents, orders),
      activeDays: activeDates.size,
      ordersPerDay: fraction(orders, span),
      ordersPerWeek: fraction(7 * orders, span),
      revenue30dCents,
      orders30d,
      customers: customers?.customers ?? 0,
      repeatCustomerRate: customers ? fractionOrNull(customers.repeatCustomers, customers.customers) : null,
    });
  }
  const ranked = [...unranked].sort(
    (left, right) => right.revenueCents - left.revenueCents || compareUtf8(left.locationId, right.locationId),
  );
  const rows: LocationPerformanceRow[] = ranked.map((row, index) => ({ ...row, rank: index + 1 }));
  rows.sort((left, right) => compareUtf8(left.locationId, right.locationId));
  return arrayMart(MartName.LocationPerformance, ['location_id'], locationPerformanceColumns, rows);
}
