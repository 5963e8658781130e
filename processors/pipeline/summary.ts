/**
 * The closing summary of `tillstream run` and `demo`: every mart's headline figures, read from the
 * marts themselves so the terminal and the files can never disagree.
 */
import {
  type DiscountEffectivenessRow,
  formatDollars,
  type LocationPerformanceRow,
  type Marts,
  martRows,
} from '../../aggregates/marts/index.js';

function table(rows: readonly (readonly string[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join('  '),
    )
    .join('\n');
}

const count = (value: number): string => value.toLocaleString('en-US');

/** `$1,234.56` from exact cents (rounded half away from zero, as the marts are). */
function money(cents: Parameters<typeof formatDollars>[0]): string {
  const [whole = '0', fraction = '00'] = formatDollars(cents).split('.');
  const negative = whole.startsWith('-');
  const digits = negative ? whole.slice(1) : whole;
  return `${negative ? '-' : ''}$${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction}`;
}
const percent = (part: number, whole: number): string =>
  whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)}%`;

/** Counts of each value of `key` over the rows, in the order of `order`. */
function tally<Row>(
  rows: readonly Row[],
  key: (row: Row) => string,
  order: readonly string[],
): [string, number][] {
  const counts = new Map<string, number>(order.map((value) => [value, 0]));
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
  return [...counts.entries()];
}

/**
 * A few screens of text: revenue, orders, customers, CLV tiers, RFM segments, at-risk customers,
 * the top and bottom 3 locations, the discounted share, loyalty groups.
 */
export function summariseMarts(marts: Marts, locationNames: ReadonlyMap<string, string> = new Map()): string {
  const customers = martRows(marts.customer_metrics);
  const locations: LocationPerformanceRow[] = martRows(marts.location_performance);
  const discount: DiscountEffectivenessRow[] = martRows(marts.discount_effectiveness).filter(
    (row) => row.locationId === 'ALL',
  );
  const revenueCents = locations.reduce((sum, row) => sum + row.revenueCents, 0);
  const orders = locations.reduce((sum, row) => sum + row.orders, 0);
  const discountedOrders = discount.find((row) => row.discounted)?.orders ?? 0;
  const discountCents = discount.find((row) => row.discounted)?.discountCents ?? 0;
  const atRisk = customers.filter((row) => row.atRisk).length;
  const name = (id: string): string => locationNames.get(id) ?? id;

  const lines: string[] = [];
  lines.push(
    table([
      ['figure', 'value'],
      ['net revenue', money(revenueCents)],
      ['orders', count(orders)],
      ['average order value', orders === 0 ? '–' : money({ num: revenueCents, den: orders })],
      ['customers', count(customers.length)],
      ['at-risk customers (> 45 days)', `${count(atRisk)} (${percent(atRisk, customers.length)})`],
      ['discounted orders', `${count(discountedOrders)} (${percent(discountedOrders, orders)})`],
      ['discounts given', money(discountCents)],
    ]),
  );
  lines.push('');
  const tiers = tally(customers, (row) => row.clvTier, ['High', 'Medium', 'Low']);
  lines.push(
    table([
      ['CLV tier', 'customers'],
      ...tiers.map(([tier, n]) => [tier, `${count(n)} (${percent(n, customers.length)})`]),
    ]),
  );
  lines.push('');
  const segments = tally(customers, (row) => row.rfmSegment, [
    'VIP',
    'Loyal',
    'Regular',
    'New Customer',
    'Lapsing',
    'Churn Risk',
    'Inactive',
  ]);
  lines.push(
    table([
      ['RFM segment', 'customers'],
      ...segments.map(([segment, n]) => [segment, `${count(n)} (${percent(n, customers.length)})`]),
    ]),
  );
  lines.push('');
  const ranked = [...locations].sort((a, b) => a.rank - b.rank);
  const shown = ranked.length <= 6 ? ranked : [...ranked.slice(0, 3), ...ranked.slice(-3)];
  lines.push(
    table([
      ['rank', 'location', 'revenue', 'orders', 'avg order'],
      ...shown.map((row) => [
        String(row.rank),
        name(row.locationId),
        money(row.revenueCents),
        count(row.orders),
        row.avgOrderValueCents === null ? '–' : money(row.avgOrderValueCents),
      ]),
    ]),
  );
  lines.push('');
  lines.push(
    table([
      ['loyalty group', 'customers', 'orders', 'revenue', 'avg order', 'repeat rate'],
      ...martRows(marts.loyalty_impact).map((row) => [
        row.group,
        row.customers === null ? '–' : count(row.customers),
        count(row.orders),
        money(row.revenueCents),
        row.avgOrderValueCents === null ? '–' : money(row.avgOrderValueCents),
        row.repeatRate === null ? '–' : percent(row.repeatRate.num, row.repeatRate.den),
      ]),
    ]),
  );
  return lines.join('\n');
}
