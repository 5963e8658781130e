/**
 * `loyalty_impact`: members, non-members (customers) and guests, always three rows (CONTRACT.md §2,
 * §3): customers, orders, net revenue, average order value, orders per customer, repeat rate (share
 * of customers with ≥ 2 orders), average and median CLV (a median over an even count is the mean of
 * the middle two).
 *
 * - A customer is a member when any of their orders up to as_of is flagged loyalty; then all their
 *   orders are member orders. Guest orders (no USER_ID, even flagged loyalty) form the guest row.
 * - An empty group shows zero counts and sums and empty averages; the guest row leaves the
 *   customer-only figures (customers included) empty.
 */
import { arrayMart, type Cents, column, compareUtf8, type Mart, MartName } from './columns.js';
import { type Fraction, fraction, fractionOrNull } from './fraction.js';
import type { LocationDay } from './input.js';
import type { CustomerPopulation } from './population.js';

export const LoyaltyGroup = { Member: 'member', NonMember: 'non_member', Guest: 'guest' } as const;
export type LoyaltyGroup = (typeof LoyaltyGroup)[keyof typeof LoyaltyGroup];

export interface LoyaltyImpactRow {
  readonly group: LoyaltyGroup;
  /** Null on the guest row. */
  readonly customers: number | null;
  readonly orders: number;
  readonly revenueCents: number;
  readonly avgOrderValueCents: Fraction | null;
  readonly ordersPerCustomer: Fraction | null;
  readonly repeatRate: Fraction | null;
  readonly avgClvCents: Fraction | null;
  readonly medianClvCents: Cents | null;
}

export const loyaltyImpactColumns = [
  column.text<LoyaltyImpactRow>('group', (row) => row.group),
  column.count<LoyaltyImpactRow>('customers', (row) => row.customers),
  column.count<LoyaltyImpactRow>('orders', (row) => row.orders),
  column.money<LoyaltyImpactRow>('revenue', (row) => row.revenueCents),
  column.money<LoyaltyImpactRow>('avg_order_value', (row) => row.avgOrderValueCents),
  column.ratio<LoyaltyImpactRow>('orders_per_customer', (row) => row.ordersPerCustomer),
  column.ratio<LoyaltyImpactRow>('repeat_rate', (row) => row.repeatRate),
  column.money<LoyaltyImpactRow>('avg_clv', (row) => row.avgClvCents),
  column.money<LoyaltyImpactRow>('median_clv', (row) => row.medianClvCents),
] as const;

/** The median of values sorted ascending: the mean of the middle two over an even count. */
export function medianOfSorted(sorted: ArrayLike<number>): Cents | null {
  const count = sorted.length;
  if (count === 0) return null;
  const middle = count >> 1;
  if (count % 2 === 1) return sorted[middle]!;
  return fraction(sorted[middle - 1]! + sorted[middle]!, 2);
}

function customerGroupRow(
  group: LoyaltyGroup,
  population: CustomerPopulation,
  isMember: boolean,
): LoyaltyImpactRow {
  let customers = 0;
  let orders = 0;
  let revenueCents = 0;
  let repeatCustomers = 0;
  for (let index = 0; index < population.size; index++) {
    if ((population.member[index] === 1) !== isMember) continue;
    customers += 1;
    orders += population.orders[index]!;
    revenueCents += population.clvCents[index]!;
    if (population.orders[index]! >= 2) repeatCustomers += 1;
  }
  const clvs = new Float64Array(customers);
  let next = 0;
  for (let index = 0; index < population.size; index++) {
    if ((population.member[index] === 1) === isMember) clvs[next++] = population.clvCents[index]!;
  }
  clvs.sort();
  return {
    group,
    customers,
    orders,
    revenueCents,
    avgOrderValueCents: fractionOrNull(revenueCents, orders),
    ordersPerCustomer: fractionOrNull(orders, customers),
    repeatRate: fractionOrNull(repeatCustomers, customers),
    avgClvCents: fractionOrNull(revenueCents, customers),
    medianClvCents: medianOfSorted(clvs),
  };
}

/**
 * The `loyalty_impact` mart: three rows, sorted by group.
 *
 * @example
 * const mart = loyaltyImpact(population, locationDays, '2023-08-31');
 */
export function loyaltyImpact(
  population: CustomerPopulation,
  locationDays: Iterable<LocationDay>,
  asOf: string,
): Mart<LoyaltyImpactRow> {
  let guestOrders = 0;
  let guestRevenueCents = 0;
  for (const locationDay of locationDays) {
    if (locationDay.date > asOf) continue;
    guestOrders += locationDay.guestOrders;
    guestRevenueCents += locationDay.guestNetCents;
  }
  const rows: LoyaltyImpactRow[] = [
    customerGroupRow(LoyaltyGroup.Member, population, true),
    customerGroupRow(LoyaltyGroup.NonMember, population, false),
    {
      group: LoyaltyGroup.Guest,
      customers: null,
      orders: guestOrders,
      revenueCents: guestRevenueCents,
      avgOrderValueCents: fractionOrNull(guestRevenueCents, guestOrders),
      ordersPerCustomer: null,
      repeatRate: null,
      avgClvCents: null,
      medianClvCents: null,
    },
  ];
  rows.sort((left, right) => compareUtf8(left.group, right.group));
  return arrayMart(MartName.LoyaltyImpact, ['group'], loyaltyImpactColumns, rows);
}
