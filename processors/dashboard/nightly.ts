/**
 * The nightly views (segments, churn, loyalty, discount before/after) from the newest snapshot's
 * CSV records: percentile tiers and RFM segments need the whole population, so the dashboard shows
 * what compaction computed instead of recomputing it per page view. Pure functions.
 */
import { SEGMENT_ORDER, TIER_ORDER } from '../../aggregates/marts/customer-metrics.js';
import { averageCents } from './figures.js';

/** Money text of a mart (`12.34`, `-0.50`) as integer cents; null for an empty cell. */
export function dollarsToCents(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(text);
  if (match === null) throw new RangeError(`not a money cell with 2 decimals: ${JSON.stringify(text)}`);
  const cents = Number(match[2]) * 100 + Number(match[3]);
  return match[1] === '-' ? -cents : cents;
}

function numberOrNull(text: string | undefined): number | null {
  return text === undefined || text === '' ? null : Number(text);
}

export const LoyaltyFilter = { All: 'all', Member: 'member', NonMember: 'non_member' } as const;
export type LoyaltyFilter = (typeof LoyaltyFilter)[keyof typeof LoyaltyFilter];

/** One `customer_metrics` row, typed. */
export interface CustomerRow {
  readonly customerId: string;
  readonly loyaltyMember: boolean;
  readonly lastOrderDate: string;
  readonly orders: number;
  readonly clvCents: number;
  readonly clvTier: string;
  readonly recencyDays: number;
  readonly rfmSegment: string;
  readonly monetary180dCents: number;
  readonly avgGapDays: number | null;
  readonly spendRecentCents: number;
  readonly spendPriorCents: number;
  readonly spendChangePct: number | null;
  readonly atRisk: boolean;
}

/** Typed rows of the `customer_metrics` CSV records. */
export function customerRows(records: readonly Readonly<Record<string, string>>[]): CustomerRow[] {
  return records.map((record) => ({
    customerId: record['customer_id'] ?? '',
    loyaltyMember: record['loyalty_member'] === 'true',
    lastOrderDate: record['last_order_date'] ?? '',
    orders: Number(record['orders'] ?? 0),
    clvCents: dollarsToCents(record['clv']) ?? 0,
    clvTier: record['clv_tier'] ?? '',
    recencyDays: Number(record['recency_days'] ?? 0),
    rfmSegment: record['rfm_segment'] ?? '',
    monetary180dCents: dollarsToCents(record['monetary_180d']) ?? 0,
    avgGapDays: numberOrNull(record['avg_gap_days']),
    spendRecentCents: dollarsToCents(record['spend_recent_90d']) ?? 0,
    spendPriorCents: dollarsToCents(record['spend_prior_90d']) ?? 0,
    spendChangePct: numberOrNull(record['spend_change_pct']),
    atRisk: record['at_risk'] === 'true',
  }));
}

function byLoyalty(rows: readonly CustomerRow[], filter: LoyaltyFilter): CustomerRow[] {
  if (filter === LoyaltyFilter.All) return [...rows];
  const member = filter === LoyaltyFilter.Member;
  return rows.filter((row) => row.loyaltyMember === member);
}

export interface GroupFigures {
  readonly customers: number;
  readonly clvCents: number;
  readonly avgClvCents: number | null;
  readonly monetary180dCents: number;
}

function group(rows: readonly CustomerRow[]): GroupFigures {
  const clvCents = rows.reduce((sum, row) => sum + row.clvCents, 0);
  return {
    customers: rows.length,
    clvCents,
    avgClvCents: averageCents(clvCents, rows.length),
    monetary180dCents: rows.reduce((sum, row) => sum + row.monetary180dCents, 0),
  };
}

export interface SegmentationView {
  readonly customers: number;
  readonly segments: readonly ({ segment: string } & GroupFigures)[];
  readonly tiers: readonly ({ tier: string } & GroupFigures)[];
}

/** RFM segment sizes and value, and the CLV tier distribution, of the filtered customers. */
export function segmentationView(rows: readonly CustomerRow[], filter: LoyaltyFilter): SegmentationView {
  const chosen = byLoyalty(rows, filter);
  const known = new Set<string>(SEGMENT_ORDER);
  const extra = [...new Set(chosen.map((row) => row.rfmSegment))].filter((segment) => !known.has(segment));
  return {
    customers: chosen.length,
    segments: [...SEGMENT_ORDER, ...extra].map((segment) => ({
      segment,
      ...group(chosen.filter((row) => row.rfmSegment === segment)),
    })),
    tiers: TIER_ORDER.map((tier) => ({ tier, ...group(chosen.filter((row) => row.clvTier === tier)) })),
  };
}

export interface Bucket {
  readonly label: string;
  readonly customers: number;
}

function histogram(
  values: readonly (number | null)[],
  edges: readonly { label: string; test: (value: number) => boolean }[],
  nullLabel?: string,
): Bucket[] {
  const buckets = edges.map((edge) => ({ label: edge.label, customers: 0 }));
  let nulls = 0;
  for (const value of values) {
    if (value === null) {
      nulls++;
      continue;
    }
    const index = edges.findIndex((edge) => edge.test(value));
    if (index >= 0) buckets[index]!.customers++;
  }
  return nullLabel === undefined ? buckets : [...buckets, { label: nullLabel, customers: nulls }];
}

export interface ChurnView {
  readonly customers: number;
  readonly atRisk: number;
  /** At-risk customers by CLV, highest first (the re-engagement list; the CSV has them all). */
  readonly atRiskTop: readonly CustomerRow[];
  readonly recency: readonly Bucket[];
  readonly averageGap: readonly Bucket[];
  readonly spendChange: readonly Bucket[];
  readonly spendRecentCents: number;
  readonly spendPriorCents: number;
}

const AT_RISK_TOP = 50;

/** Churn indicators of the filtered customers. */
export function churnView(rows: readonly CustomerRow[], filter: LoyaltyFilter): ChurnView {
  const chosen = byLoyalty(rows, filter);
  const atRisk = atRiskList(chosen);
  const range = (label: string, low: number, high: number) => ({
    label,
    test: (value: number) => value >= low && value < high,
  });
  return {
    customers: chosen.length,
    atRisk: atRisk.length,
    atRiskTop: atRisk.slice(0, AT_RISK_TOP),
    recency: histogram(
      chosen.map((row) => row.recencyDays),
      [
        range('0–7', 0, 8),
        range('8–14', 8, 15),
        range('15–30', 15, 31),
        range('31–45', 31, 46),
        range('46–60', 46, 61),
        range('61–90', 61, 91),
        range('91–180', 91, 181),
        range('181+', 181, Number.POSITIVE_INFINITY),
      ],
    ),
    averageGap: histogram(
      chosen.map((row) => row.avgGapDays),
      [
        range('< 1', 0, 1),
        range('1–3', 1, 3),
        range('3–7', 3, 7),
        range('7–14', 7, 14),
        range('14–30', 14, 30),
        range('30–60', 30, 60),
        range('60+', 60, Number.POSITIVE_INFINITY),
      ],
      'one order',
    ),
    spendChange: histogram(
      chosen.map((row) => row.spendChangePct),
      [
        range('≤ −50%', Number.NEGATIVE_INFINITY, -50),
        range('−50% to −10%', -50, -10),
        range('−10% to +10%', -10, 10),
        range('+10% to +50%', 10, 50),
        range('≥ +50%', 50, Number.POSITIVE_INFINITY),
      ],
      'no prior spend',
    ),
    spendRecentCents: chosen.reduce((sum, row) => sum + row.spendRecentCents, 0),
    spendPriorCents: chosen.reduce((sum, row) => sum + row.spendPriorCents, 0),
  };
}

/** At-risk customers, highest CLV first (ties by customer id). */
export function atRiskList(rows: readonly CustomerRow[]): CustomerRow[] {
  return rows
    .filter((row) => row.atRisk)
    .sort((a, b) => b.clvCents - a.clvCents || (a.customerId < b.customerId ? -1 : 1));
}

function csvField(text: string): string {
  const guarded = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

function dollars(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The re-engagement list as CSV (RFC 4180, formula-guarded like the marts). */
export function atRiskCsv(rows: readonly CustomerRow[]): string {
  const header =
    'customer_id,loyalty_member,last_order_date,days_since_last_order,orders,clv,avg_gap_days,spend_change_pct';
  const lines = atRiskList(rows).map((row) =>
    [
      csvField(row.customerId),
      String(row.loyaltyMember),
      row.lastOrderDate,
      String(row.recencyDays),
      String(row.orders),
      dollars(row.clvCents),
      row.avgGapDays === null ? '' : row.avgGapDays.toFixed(6),
      row.spendChangePct === null ? '' : row.spendChangePct.toFixed(2),
    ].join(','),
  );
  return `${[header, ...lines].join('\n')}\n`;
}

export interface LoyaltyRow {
  readonly group: string;
  readonly customers: number | null;
  readonly orders: number;
  readonly revenueCents: number;
  readonly avgOrderValueCents: number | null;
  readonly ordersPerCustomer: number | null;
  readonly repeatRate: number | null;
  readonly avgClvCents: number | null;
  readonly medianClvCents: number | null;
}

/** The `loyalty_impact` rows, typed. */
export function loyaltyRows(records: readonly Readonly<Record<string, string>>[]): LoyaltyRow[] {
  return records.map((record) => ({
    group: record['group'] ?? '',
    customers: numberOrNull(record['customers']),
    orders: Number(record['orders'] ?? 0),
    revenueCents: dollarsToCents(record['revenue']) ?? 0,
    avgOrderValueCents: dollarsToCents(record['avg_order_value']),
    ordersPerCustomer: numberOrNull(record['orders_per_customer']),
    repeatRate: numberOrNull(record['repeat_rate']),
    avgClvCents: dollarsToCents(record['avg_clv']),
    medianClvCents: dollarsToCents(record['median_clv']),
  }));
}

export interface BeforeAfterRow {
  readonly locationId: string;
  readonly firstDiscountDate: string | null;
  readonly ordersPerDayBefore: number | null;
  readonly ordersPerDayAfter: number | null;
  readonly revenuePerDayBeforeCents: number | null;
  readonly revenuePerDayAfterCents: number | null;
}

/** The `discount_before_after` rows, typed. */
export function beforeAfterRows(records: readonly Readonly<Record<string, string>>[]): BeforeAfterRow[] {
  return records.map((record) => ({
    locationId: record['location_id'] ?? '',
    firstDiscountDate: record['first_discount_date'] || null,
    ordersPerDayBefore: numberOrNull(record['orders_per_day_before']),
    ordersPerDayAfter: numberOrNull(record['orders_per_day_after']),
    revenuePerDayBeforeCents: dollarsToCents(record['revenue_per_day_before']),
    revenuePerDayAfterCents: dollarsToCents(record['revenue_per_day_after']),
  }));
}
