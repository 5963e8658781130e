/**
 * The closing summary of `tillstream run` and `demo`: every mart's headline figures, read from the
 * marts themselves so the terminal and the files can never disagree. Each metric family of each
 * mart (CONTRACT.md §2, §3) has at least one line; the text fits about a screen of 100 columns.
 *
 * Figures that combine mart rows (medians, averages over locations or days, changes) are exact
 * rationals rounded only when written, halves away from zero, as the marts are: money to the cent,
 * percentages to 0.1, days and per-day counts to 0.1, orders per day of a location to 0.01.
 */
import {
  ALL_LOCATIONS,
  Breakdown,
  type Cents,
  type CustomerMetricsRow,
  compareUtf8,
  type DiscountBeforeAfterRow,
  type DiscountEffectivenessRow,
  type Fraction,
  formatScaled,
  Grain,
  type LocationPerformanceRow,
  type Marts,
  martRows,
  roundHalfAwayFromZeroBig,
  type SalesTrendsRow,
  SEGMENT_ORDER,
  TIER_ORDER,
} from '../../aggregates/marts/index.js';

/** An exact rational of any size, `den > 0`. */
interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

const ratio = (value: Cents): Ratio =>
  typeof value === 'number'
    ? { num: BigInt(value), den: 1n }
    : { num: BigInt(value.num), den: BigInt(value.den) };
const gcd = (a: bigint, b: bigint): bigint => {
  let [x, y] = [a < 0n ? -a : a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
};
/** The sum in lowest terms (sums of many fractions keep small denominators). */
function add(left: Ratio, right: Ratio): Ratio {
  if (left.den === right.den) return reduced(left.num + right.num, left.den);
  return reduced(left.num * right.den + right.num * left.den, left.den * right.den);
}
function reduced(num: bigint, den: bigint): Ratio {
  const divisor = gcd(num, den);
  return divisor === 1n ? { num, den } : { num: num / divisor, den: den / divisor };
}
const divide = (value: Ratio, by: number): Ratio => ({ num: value.num, den: value.den * BigInt(by) });
function compare(left: Ratio, right: Ratio): number {
  // Plain numbers while the cross products stay exact (days, counts, percentages): the medians
  // sort every customer.
  const a = Number(left.num) * Number(right.den);
  const b = Number(right.num) * Number(left.den);
  if (Number.isSafeInteger(a) && Number.isSafeInteger(b)) return a - b;
  const difference = left.num * right.den - right.num * left.den;
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
const sum = (values: readonly Ratio[]): Ratio => values.reduce(add, { num: 0n, den: 1n });
/** The mean, or null over nothing. */
const mean = (values: readonly Ratio[]): Ratio | null =>
  values.length === 0 ? null : divide(sum(values), values.length);
/** The median (the mean of the middle two over an even count), or null over nothing. */
function median(values: readonly Ratio[]): Ratio | null {
  const sorted = [...values].sort(compare);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return null;
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return divide(add(sorted[middle - 1]!, sorted[middle]!), 2);
}

/** Digits grouped by thousands: `1234567.8` → `1,234,567.8`. */
function grouped(decimal: string): string {
  const [whole = '0', fraction] = decimal.split('.');
  const negative = whole.startsWith('-');
  const digits = (negative ? whole.slice(1) : whole).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${digits}${fraction === undefined ? '' : `.${fraction}`}`;
}
/** The value with `decimals` digits, rounded half away from zero, grouped by thousands. */
const fixed = (value: Ratio, decimals: number): string =>
  grouped(formatScaled(roundHalfAwayFromZeroBig(value.num * 10n ** BigInt(decimals), value.den), decimals));

const isRatio = (value: Cents | Ratio): value is Ratio =>
  typeof value === 'object' && typeof value.num === 'bigint';
const count = (value: number): string => value.toLocaleString('en-US');
/** `$1,234.56` from cents, exact or a fraction (rounded half away from zero to the cent). */
function money(cents: Cents | Ratio): string {
  const value = isRatio(cents) ? cents : ratio(cents);
  const dollars = fixed(divide(value, 100), 2);
  return dollars.startsWith('-') ? `-$${dollars.slice(1)}` : `$${dollars}`;
}
const orEmpty = <Value>(value: Value | null, format: (value: Value) => string): string =>
  value === null ? '–' : format(value);
/** `part / whole` as a percentage with one decimal, `–` when whole is 0. */
const percent = (part: Cents, whole: Cents): string =>
  orEmpty(share(ratio(part), ratio(whole)), (value) => `${fixed(value, 1)}%`);
const share = (part: Ratio, whole: Ratio): Ratio | null =>
  whole.num === 0n ? null : { num: 100n * part.num * whole.den, den: part.den * whole.num };
/** `+7.4%`: the change from `before` to `after`, `–` when before is 0 or either is missing. */
function change(before: Ratio | null, after: Ratio | null): string {
  if (before === null || after === null) return '–';
  const value = share(
    { num: after.num * before.den - before.num * after.den, den: after.den * before.den },
    before,
  );
  return signed(value);
}
const signed = (percentage: Ratio | null): string =>
  orEmpty(percentage, (value) => `${value.num * value.den > 0n ? '+' : ''}${fixed(value, 1)}%`);
const plural = (n: number, noun: string): string => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

/** Columns padded to their widest cell: the first `left` columns left-aligned, the others right. */
function table(rows: readonly (readonly string[])[], left = 1): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column < left ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Counts of each value of `key` over the rows, in the order of `order`. */
function tally<Row>(
  rows: readonly Row[],
  key: (row: Row) => string,
  order: readonly string[],
): [string, Row[]][] {
  const groups = new Map<string, Row[]>(order.map((value) => [value, []]));
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group === undefined) groups.set(key(row), [row]);
    else group.push(row);
  }
  return [...groups.entries()];
}

function customerSections(customers: readonly CustomerMetricsRow[]): string[] {
  const tiers = tally(customers, (row) => row.clvTier, TIER_ORDER).map(([tier, rows]) => {
    const low = rows.reduce((least, row) => Math.min(least, row.clvCents), Number.POSITIVE_INFINITY);
    const high = rows.reduce((most, row) => Math.max(most, row.clvCents), Number.NEGATIVE_INFINITY);
    const range = rows.length === 0 ? '–' : low === high ? money(low) : `${money(low)} – ${money(high)}`;
    return [tier, `${count(rows.length)} (${percent(rows.length, customers.length)})`, range];
  });
  const segments = tally(customers, (row) => row.rfmSegment, SEGMENT_ORDER).map(([segment, rows]) => [
    segment,
    `${count(rows.length)} (${percent(rows.length, customers.length)})`,
    money(rows.reduce((total, row) => total + row.monetary180dCents, 0)),
  ]);

  const repeat = customers.flatMap((row) => (row.avgGapDays === null ? [] : [ratio(row.avgGapDays)]));
  const changes = customers.flatMap((row) =>
    row.spendChangePct === null ? [] : [ratio(row.spendChangePct)],
  );
  const up = changes.filter((value) => value.num > 0n).length;
  const down = changes.filter((value) => value.num < 0n).length;
  const recent = sum(customers.map((row) => ratio(row.spendRecentCents)));
  const prior = sum(customers.map((row) => ratio(row.spendPriorCents)));
  const days = (value: Ratio): string => `${fixed(value, 1)} days`;
  return [
    table([['CLV tier', 'customers', 'CLV'], ...tiers]),
    table([['RFM segment', 'customers', 'revenue, 180 days'], ...segments]),
    table(
      [
        ['churn indicator', 'value'],
        [
          'days since last order, median',
          orEmpty(median(customers.map((row) => ratio(row.recencyDays))), days),
        ],
        [
          'average gap between orders, median',
          `${orEmpty(median(repeat), days)} (${plural(repeat.length, 'customer')} with 2+ orders)`,
        ],
        ['spend, last 90 days vs prior 90', `${money(recent)} vs ${money(prior)} (${change(prior, recent)})`],
        [
          'spend change per customer, median',
          `${signed(median(changes))} (${count(up)} up, ${count(down)} down, ` +
            `${count(customers.length - changes.length)} without prior spend)`,
        ],
      ],
      2,
    ),
  ];
}

interface Figures {
  readonly key: string;
  readonly revenueCents: number;
  readonly orders: number;
  readonly items: number;
}

/** Most revenue first; ties by key (period or breakdown value) in byte order. */
const byRevenue = (left: Figures, right: Figures): number =>
  right.revenueCents - left.revenueCents || compareUtf8(left.key, right.key);

/** The breakdown's values summed over every month (each order's day lies in exactly one month). */
function overAllMonths(rows: readonly SalesTrendsRow[], breakdown: Breakdown): Figures[] {
  const sums = new Map<string, { revenueCents: number; orders: number; items: number }>();
  for (const row of rows) {
    if (row.grain !== Grain.Month || row.breakdown !== breakdown) continue;
    const found = sums.get(row.breakdownValue);
    if (found === undefined)
      sums.set(row.breakdownValue, { revenueCents: row.revenueCents, orders: row.orders, items: row.items });
    else {
      found.revenueCents += row.revenueCents;
      found.orders += row.orders;
      found.items += row.items;
    }
  }
  return [...sums].map(([key, value]) => ({ key, ...value })).sort(byRevenue);
}

function salesTrendsSection(trends: readonly SalesTrendsRow[]): string {
  const chain = trends.filter((row) => row.locationId === ALL_LOCATIONS);
  const totals = (grain: Grain): (Figures & SalesTrendsRow)[] =>
    chain
      .filter((row) => row.grain === grain && row.breakdown === Breakdown.Total)
      .map((row) => ({ ...row, key: row.period }))
      .sort(byRevenue);
  const revenue = totals(Grain.Month).reduce((total, row) => total + row.revenueCents, 0);
  const line = (label: string, when: string, figures: Figures | undefined): string[] =>
    figures === undefined
      ? [label, '–', '–', '–', '–', '–']
      : [
          label,
          when,
          money(figures.revenueCents),
          count(figures.orders),
          count(figures.items),
          percent(figures.revenueCents, revenue),
        ];
  const days = totals(Grain.Day);
  const bestDay = days[0];
  const bestWeek = totals(Grain.Week)[0];
  const bestMonth = totals(Grain.Month)[0];
  const hour = overAllMonths(chain, Breakdown.Hour)[0];
  const daypart = overAllMonths(chain, Breakdown.Daypart)[0];
  const categories = overAllMonths(chain, Breakdown.Category).slice(0, 3);
  const average = (label: string, rows: readonly Figures[]): string[] => {
    const per = (value: (row: Figures) => number): Ratio | null => mean(rows.map((row) => ratio(value(row))));
    return [
      label,
      plural(rows.length, 'day'),
      orEmpty(
        per((row) => row.revenueCents),
        money,
      ),
      orEmpty(
        per((row) => row.orders),
        (value) => fixed(value, 1),
      ),
      orEmpty(
        per((row) => row.items),
        (value) => fixed(value, 1),
      ),
      '',
    ];
  };
  return table(
    [
      ['sales trends (chain)', 'when', 'revenue', 'orders', 'items', 'share'],
      line(
        bestDay?.holidayName ? `best day (${bestDay.holidayName})` : 'best day',
        bestDay?.key ?? '',
        bestDay,
      ),
      line('best week', bestWeek?.key ?? '', bestWeek),
      line('best month', bestMonth?.key ?? '', bestMonth),
      line('peak hour', hour === undefined ? '' : `${hour.key}:00–${hour.key}:59`, hour),
      line('peak daypart', daypart?.key ?? '', daypart),
      ...categories.map((category, index) =>
        line(['top category', '2nd category', '3rd category'][index]!, category.key, category),
      ),
      average(
        'holiday, average',
        days.filter((row) => row.isHoliday === true),
      ),
      average(
        'other day, average',
        days.filter((row) => row.isHoliday !== true),
      ),
    ],
    2,
  );
}

function locationSection(locations: readonly LocationPerformanceRow[], name: (id: string) => string): string {
  const ranked = [...locations].sort((a, b) => a.rank - b.rank);
  const shown = ranked.length <= 6 ? ranked : [...ranked.slice(0, 3), ...ranked.slice(-3)];
  return table(
    [
      ['rank', 'location', 'revenue', 'orders', 'avg order', 'orders/day', 'repeat'],
      ...shown.map((row) => [
        String(row.rank),
        name(row.locationId),
        money(row.revenueCents),
        count(row.orders),
        orEmpty(row.avgOrderValueCents, money),
        fixed(ratio(row.ordersPerDay), 2),
        orEmpty(row.repeatCustomerRate, (rate) => percent(rate.num, rate.den)),
      ]),
    ],
    2,
  );
}

function discountSections(
  chain: readonly DiscountEffectivenessRow[],
  beforeAfter: readonly DiscountBeforeAfterRow[],
): string[] {
  const orders = chain.reduce((total, row) => total + row.orders, 0);
  const sides = table([
    ['discounts (chain)', 'orders', 'share', 'gross', 'discount', 'net', 'avg order'],
    ...[false, true].flatMap((discounted) =>
      chain
        .filter((row) => row.discounted === discounted)
        .map((row) => [
          discounted ? 'discounted' : 'full price',
          count(row.orders),
          percent(row.orders, orders),
          money(row.grossRevenueCents),
          money(row.discountCents),
          money(row.netRevenueCents),
          orEmpty(row.avgOrderValueCents, money),
        ]),
    ),
  ]);

  const discounting = beforeAfter.filter((row) => row.firstDiscountDate !== null);
  if (discounting.length === 0) return [sides, 'no location has discounted yet'];
  // Averaged over the locations with days on both sides of their first discount, so that before
  // and after describe the same locations.
  const both = discounting.filter(
    (row) =>
      row.ordersPerDayBefore !== null &&
      row.ordersPerDayAfter !== null &&
      row.revenuePerDayBeforeCents !== null &&
      row.revenuePerDayAfterCents !== null,
  );
  const averageOf = (value: (row: DiscountBeforeAfterRow) => Fraction | null): Ratio | null =>
    mean(both.map((row) => ratio(value(row)!)));
  const ordersBefore = averageOf((row) => row.ordersPerDayBefore);
  const ordersAfter = averageOf((row) => row.ordersPerDayAfter);
  const revenueBefore = averageOf((row) => row.revenuePerDayBeforeCents);
  const revenueAfter = averageOf((row) => row.revenuePerDayAfterCents);
  const rose = both.filter(
    (row) => compare(ratio(row.ordersPerDayAfter!), ratio(row.ordersPerDayBefore!)) > 0,
  ).length;
  const dates = discounting.map((row) => row.firstDiscountDate!).sort();
  const first = dates[0]!;
  const last = dates[dates.length - 1]!;
  const averaged = `avg of ${plural(both.length, 'location')}`;
  return [
    sides,
    table([
      ['discount before/after', 'before', 'after', 'change'],
      [
        `orders per day (${averaged})`,
        orEmpty(ordersBefore, (value) => fixed(value, 2)),
        orEmpty(ordersAfter, (value) => fixed(value, 2)),
        change(ordersBefore, ordersAfter),
      ],
      [
        `revenue per day (${averaged})`,
        orEmpty(revenueBefore, money),
        orEmpty(revenueAfter, money),
        change(revenueBefore, revenueAfter),
      ],
    ]) +
      `\nfirst discount at ${count(discounting.length)} of ${plural(beforeAfter.length, 'location')}, ` +
      `${first === last ? first : `${first} … ${last}`}; orders per day rose at ${count(rose)} of ${count(both.length)}`,
  ];
}

/**
 * About a screen of text, one block per metric family: revenue, orders, customers, at-risk and
 * discounted shares; CLV tiers; RFM segments; churn indicators; sales trends; the top and bottom 3
 * locations; loyalty groups; discounted against full-price orders; before and after the first
 * discount.
 */
export function summariseMarts(marts: Marts, locationNames: ReadonlyMap<string, string> = new Map()): string {
  const customers = martRows(marts.customer_metrics);
  const locations: LocationPerformanceRow[] = martRows(marts.location_performance);
  const discount: DiscountEffectivenessRow[] = martRows(marts.discount_effectiveness).filter(
    (row) => row.locationId === ALL_LOCATIONS,
  );
  const revenueCents = locations.reduce((sum, row) => sum + row.revenueCents, 0);
  const orders = locations.reduce((sum, row) => sum + row.orders, 0);
  const revenue30dCents = locations.reduce((sum, row) => sum + row.revenue30dCents, 0);
  const orders30d = locations.reduce((sum, row) => sum + row.orders30d, 0);
  const discountedOrders = discount.find((row) => row.discounted)?.orders ?? 0;
  const discountCents = discount.find((row) => row.discounted)?.discountCents ?? 0;
  const atRisk = customers.filter((row) => row.atRisk).length;
  const name = (id: string): string => locationNames.get(id) ?? id;

  const blocks: string[] = [];
  blocks.push(
    table([
      ['figure', 'value'],
      ['net revenue', money(revenueCents)],
      ['orders', count(orders)],
      ['average order value', orders === 0 ? '–' : money({ num: revenueCents, den: orders })],
      ['net revenue, last 30 days', `${money(revenue30dCents)} (${plural(orders30d, 'order')})`],
      ['customers', count(customers.length)],
      ['at-risk customers (> 45 days)', `${count(atRisk)} (${percent(atRisk, customers.length)})`],
      ['discounted orders', `${count(discountedOrders)} (${percent(discountedOrders, orders)})`],
      ['discounts given', money(discountCents)],
    ]),
  );
  blocks.push(...customerSections(customers));
  blocks.push(salesTrendsSection(martRows(marts.sales_trends)));
  blocks.push(locationSection(locations, name));
  blocks.push(
    table([
      [
        'loyalty',
        'customers',
        'orders',
        'revenue',
        'avg order',
        'orders/cust',
        'repeat',
        'avg CLV',
        'median CLV',
      ],
      ...martRows(marts.loyalty_impact).map((row) => [
        row.group,
        orEmpty(row.customers, count),
        count(row.orders),
        money(row.revenueCents),
        orEmpty(row.avgOrderValueCents, money),
        orEmpty(row.ordersPerCustomer, (value) => fixed(ratio(value), 2)),
        orEmpty(row.repeatRate, (rate) => percent(rate.num, rate.den)),
        orEmpty(row.avgClvCents, money),
        orEmpty(row.medianClvCents, money),
      ]),
    ]),
  );
  blocks.push(...discountSections(discount, martRows(marts.discount_before_after)));
  return blocks.join('\n\n');
}
