/**
 * `discount_effectiveness`: per location and chain-wide (`ALL`), discounted orders (any negative
 * option) against full-price orders: orders, gross revenue (without the negative options),
 * discount (−Σ negative options), net revenue and average order value (net / orders) (CONTRACT.md
 * §2, §3). Both `discounted` rows exist for every location with orders on or before as_of and for
 * `ALL`; a side without orders shows zero counts and sums and an empty average.
 */
import { arrayMart, column, compareUtf8, type Mart, MartName } from './columns.js';
import { type Fraction, fractionOrNull } from './fraction.js';
import type { LocationDay } from './input.js';
import { locationHistories } from './locations.js';
import { ALL_LOCATIONS } from './sales-trends.js';

export interface DiscountEffectivenessRow {
  readonly locationId: string;
  readonly discounted: boolean;
  readonly orders: number;
  readonly grossRevenueCents: number;
  readonly discountCents: number;
  readonly netRevenueCents: number;
  readonly avgOrderValueCents: Fraction | null;
}

export const discountEffectivenessColumns = [
  column.text<DiscountEffectivenessRow>('location_id', (row) => row.locationId),
  column.boolean<DiscountEffectivenessRow>('discounted', (row) => row.discounted),
  column.count<DiscountEffectivenessRow>('orders', (row) => row.orders),
  column.money<DiscountEffectivenessRow>('gross_revenue', (row) => row.grossRevenueCents),
  column.money<DiscountEffectivenessRow>('discount', (row) => row.discountCents),
  column.money<DiscountEffectivenessRow>('net_revenue', (row) => row.netRevenueCents),
  column.money<DiscountEffectivenessRow>('avg_order_value', (row) => row.avgOrderValueCents),
] as const;

interface Sides {
  orders: number;
  grossCents: number;
  netCents: number;
  discountedOrders: number;
  discountedGrossCents: number;
  discountedNetCents: number;
}

function addDay(sides: Sides, day: LocationDay): void {
  sides.orders += day.orders;
  sides.grossCents += day.grossCents;
  sides.netCents += day.netCents;
  sides.discountedOrders += day.discountedOrders;
  sides.discountedGrossCents += day.discountedGrossCents;
  sides.discountedNetCents += day.discountedNetCents;
}

function sideRow(
  locationId: string,
  discounted: boolean,
  orders: number,
  grossCents: number,
  netCents: number,
) {
  return {
    locationId,
    discounted,
    orders,
    grossRevenueCents: grossCents,
    // Net = gross − discount, and a full-price order has no negative option.
    discountCents: grossCents - netCents,
    netRevenueCents: netCents,
    avgOrderValueCents: fractionOrNull(netCents, orders),
  };
}

function rowsOf(locationId: string, sides: Sides): DiscountEffectivenessRow[] {
  return [
    sideRow(
      locationId,
      false,
      sides.orders - sides.discountedOrders,
      sides.grossCents - sides.discountedGrossCents,
      sides.netCents - sides.discountedNetCents,
    ),
    sideRow(locationId, true, sides.discountedOrders, sides.discountedGrossCents, sides.discountedNetCents),
  ];
}

/**
 * The `discount_effectiveness` mart, sorted by location id then `discounted` (false first).
 *
 * @example
 * const mart = discountEffectiveness(locationDays, '2023-08-31');
 */
export function discountEffectiveness(
  locationDays: Iterable<LocationDay>,
  asOf: string,
): Mart<DiscountEffectivenessRow> {
  const empty = (): Sides => ({
    orders: 0,
    grossCents: 0,
    netCents: 0,
    discountedOrders: 0,
    discountedGrossCents: 0,
    discountedNetCents: 0,
  });
  const chain = empty();
  const rows: DiscountEffectivenessRow[] = [];
  for (const history of locationHistories(locationDays, asOf)) {
    const sides = empty();
    for (const day of history.days) {
      addDay(sides, day);
      addDay(chain, day);
    }
    rows.push(...rowsOf(history.locationId, sides));
  }
  rows.push(...rowsOf(ALL_LOCATIONS, chain));
  rows.sort(
    (left, right) =>
      compareUtf8(left.locationId, right.locationId) || Number(left.discounted) - Number(right.discounted),
  );
  return arrayMart(
    MartName.DiscountEffectiveness,
    ['location_id', 'discounted'],
    discountEffectivenessColumns,
    rows,
  );
}
