/**
 * `customer_metrics`: one row per customer with an order on or before as_of (CONTRACT.md §2, §3).
 *
 * - **CLV** = the customer's net revenue up to as_of. **CLV tier** by `p = percent_rank() over
 *   (order by clv)` among all these customers (ties share the lowest rank; p = 0 when n = 1):
 *   `High` when p ≥ 4/5, `Low` when p < 1/5, else `Medium`, decided in integers
 *   (High ⇔ 5·(rank − 1) ≥ 4·(n − 1)).
 * - **RFM** over the window of 180 days ending on as_of. Scored population: the customers with an
 *   order in the window. Recency = as_of − last order date; Frequency = orders in the window;
 *   Monetary = net revenue in the window. Score = `min(5, 1 + floor(5 × p))`, with recency ranked
 *   descending (fewer days is better; ties share the lower score). Others: empty scores, frequency
 *   0, monetary 0.00, segment `Inactive`.
 * - **Segment**, first rule that matches: VIP R≥4 ∧ F≥4 ∧ M≥4 · New Customer R≥4 ∧ F≤2 · Churn Risk
 *   R≤2 ∧ F≤2 · Loyal F≥4 · Lapsing R≤2 · Regular.
 * - **Churn**: average gap = (last − first date) / (orders − 1), empty with one order; spend change
 *   % = (recent − prior) / prior × 100 over 3 periods of 30 days ending on as_of against the 3
 *   before, empty when prior spend is 0; **at risk** when days since the last order > 45.
 */

import { dateFromDayNumber } from '../time.js';
import { type Cents, column, compareUtf8, type Mart, MartName } from './columns.js';
import { type Fraction, fraction } from './fraction.js';
import type { CustomerPopulation } from './population.js';
import { percentRank, percentRankAtLeast, RankIndex, rfmScore } from './rank.js';
import type { MartSettings } from './settings.js';

export const ClvTier = { High: 'High', Medium: 'Medium', Low: 'Low' } as const;
export type ClvTier = (typeof ClvTier)[keyof typeof ClvTier];

export const RfmSegment = {
  Vip: 'VIP',
  NewCustomer: 'New Customer',
  ChurnRisk: 'Churn Risk',
  Loyal: 'Loyal',
  Lapsing: 'Lapsing',
  Regular: 'Regular',
  Inactive: 'Inactive',
} as const;
export type RfmSegment = (typeof RfmSegment)[keyof typeof RfmSegment];

/** Segments in the order managers read them, best first. */
export const SEGMENT_ORDER = [
  RfmSegment.Vip,
  RfmSegment.Loyal,
  RfmSegment.Regular,
  RfmSegment.NewCustomer,
  RfmSegment.Lapsing,
  RfmSegment.ChurnRisk,
  RfmSegment.Inactive,
] as const;
/** Tiers from the highest. */
export const TIER_ORDER = [ClvTier.High, ClvTier.Medium, ClvTier.Low] as const;

export interface CustomerMetricsRow {
  readonly customerId: string;
  readonly loyaltyMember: boolean;
  readonly firstOrderDate: string;
  readonly lastOrderDate: string;
  readonly orders: number;
  readonly clvCents: number;
  readonly clvPercentile: Fraction;
  readonly clvTier: ClvTier;
  readonly recencyDays: number;
  readonly frequency180d: number;
  readonly monetary180dCents: number;
  readonly rScore: number | null;
  readonly fScore: number | null;
  readonly mScore: number | null;
  readonly rfmSegment: RfmSegment;
  readonly avgGapDays: Fraction | null;
  readonly spendRecentCents: Cents;
  readonly spendPriorCents: Cents;
  readonly spendChangePct: Fraction | null;
  readonly atRisk: boolean;
}

export const customerMetricsColumns = [
  column.text<CustomerMetricsRow>('customer_id', (row) => row.customerId),
  column.boolean<CustomerMetricsRow>('loyalty_member', (row) => row.loyaltyMember),
  column.date<CustomerMetricsRow>('first_order_date', (row) => row.firstOrderDate),
  column.date<CustomerMetricsRow>('last_order_date', (row) => row.lastOrderDate),
  column.count<CustomerMetricsRow>('orders', (row) => row.orders),
  column.money<CustomerMetricsRow>('clv', (row) => row.clvCents),
  column.ratio<CustomerMetricsRow>('clv_percentile', (row) => row.clvPercentile),
  column.text<CustomerMetricsRow>('clv_tier', (row) => row.clvTier),
  column.count<CustomerMetricsRow>('recency_days', (row) => row.recencyDays),
  column.count<CustomerMetricsRow>('frequency_180d', (row) => row.frequency180d),
  column.money<CustomerMetricsRow>('monetary_180d', (row) => row.monetary180dCents),
  column.count<CustomerMetricsRow>('r_score', (row) => row.rScore),
  column.count<CustomerMetricsRow>('f_score', (row) => row.fScore),
  column.count<CustomerMetricsRow>('m_score', (row) => row.mScore),
  column.text<CustomerMetricsRow>('rfm_segment', (row) => row.rfmSegment),
  column.ratio<CustomerMetricsRow>('avg_gap_days', (row) => row.avgGapDays),
  column.money<CustomerMetricsRow>('spend_recent_90d', (row) => row.spendRecentCents),
  column.money<CustomerMetricsRow>('spend_prior_90d', (row) => row.spendPriorCents),
  column.percent<CustomerMetricsRow>('spend_change_pct', (row) => row.spendChangePct),
  column.boolean<CustomerMetricsRow>('at_risk', (row) => row.atRisk),
] as const;

/** The segment of R, F and M scores: the first rule that matches (CONTRACT.md §2). */
export function rfmSegment(rScore: number, fScore: number, mScore: number): RfmSegment {
  if (rScore >= 4 && fScore >= 4 && mScore >= 4) return RfmSegment.Vip;
  if (rScore >= 4 && fScore <= 2) return RfmSegment.NewCustomer;
  if (rScore <= 2 && fScore <= 2) return RfmSegment.ChurnRisk;
  if (fScore >= 4) return RfmSegment.Loyal;
  if (rScore <= 2) return RfmSegment.Lapsing;
  return RfmSegment.Regular;
}

/** The CLV tier of a customer whose CLV has `rankMinusOne` customers strictly below it. */
export function clvTier(rankMinusOne: number, population: number, settings: MartSettings): ClvTier {
  if (percentRankAtLeast(rankMinusOne, population, settings.clvHighPercentile)) return ClvTier.High;
  if (!percentRankAtLeast(rankMinusOne, population, settings.clvLowPercentile)) return ClvTier.Low;
  return ClvTier.Medium;
}

/** Customer indexes ordered by customer id as UTF-8 bytes. */
export function customerOrder(customerIds: readonly string[]): Uint32Array {
  const order = new Uint32Array(customerIds.length);
  for (let index = 0; index < order.length; index++) order[index] = index;
  // UTF-16 order equals UTF-8 byte order unless ids hold code units from U+D800 up.
  const plain = customerIds.every((id) => !/[\ud800-\uffff]/.test(id));
  const compare = plain
    ? (left: string, right: string): number => (left < right ? -1 : left > right ? 1 : 0)
    : compareUtf8;
  return order.sort((left, right) => compare(customerIds[left]!, customerIds[right]!));
}

/**
 * The `customer_metrics` mart of a customer population, sorted by customer id.
 *
 * @example
 * const mart = customerMetrics(customerPopulation(histories, asOf, settings), settings);
 */
export function customerMetrics(
  population: CustomerPopulation,
  settings: MartSettings,
): Mart<CustomerMetricsRow> {
  const size = population.size;
  const asOfDay = population.asOfDay;
  const clvRanks = new RankIndex(population.clvCents);
  const scored: number[] = [];
  for (let index = 0; index < size; index++) if (population.windowOrders[index]! > 0) scored.push(index);
  const recencyRanks = new RankIndex(scored.map((index) => asOfDay - population.lastDay[index]!));
  const frequencyRanks = new RankIndex(scored.map((index) => population.windowOrders[index]!));
  const monetaryRanks = new RankIndex(scored.map((index) => population.windowNetCents[index]!));
  const levels = settings.rfmScoreLevels;
  const order = customerOrder(population.customerIds);

  const row = (position: number): CustomerMetricsRow => {
    const index = order[position]!;
    const orders = population.orders[index]!;
    const firstDay = population.firstDay[index]!;
    const lastDay = population.lastDay[index]!;
    const clvCents = population.clvCents[index]!;
    const clvRankMinusOne = clvRanks.below(clvCents);
    const recencyDays = asOfDay - lastDay;
    const frequency = population.windowOrders[index]!;
    const monetary = population.windowNetCents[index]!;
    let rScore: number | null = null;
    let fScore: number | null = null;
    let mScore: number | null = null;
    let segment: RfmSegment = RfmSegment.Inactive;
    if (frequency > 0) {
      const scoredSize = scored.length;
      rScore = rfmScore(recencyRanks.above(recencyDays), scoredSize, levels);
      fScore = rfmScore(frequencyRanks.below(frequency), scoredSize, levels);
      mScore = rfmScore(monetaryRanks.below(monetary), scoredSize, levels);
      segment = rfmSegment(rScore, fScore, mScore);
    }
    const recent = population.recentSpendCents[index]!;
    const prior = population.priorSpendCents[index]!;
    return {
      customerId: population.customerIds[index]!,
      loyaltyMember: population.member[index] === 1,
      firstOrderDate: dateFromDayNumber(firstDay),
      lastOrderDate: dateFromDayNumber(lastDay),
      orders,
      clvCents,
      clvPercentile: percentRank(clvRankMinusOne, size),
      clvTier: clvTier(clvRankMinusOne, size, settings),
      recencyDays,
      frequency180d: frequency,
      monetary180dCents: frequency > 0 ? monetary : 0,
      rScore,
      fScore,
      mScore,
      rfmSegment: segment,
      avgGapDays: orders > 1 ? fraction(lastDay - firstDay, orders - 1) : null,
      spendRecentCents: recent,
      spendPriorCents: prior,
      spendChangePct: prior === 0 ? null : fraction((recent - prior) * 100, prior),
      atRisk: recencyDays > settings.atRiskDays,
    };
  };

  return {
    name: MartName.CustomerMetrics,
    keyColumns: ['customer_id'],
    columns: customerMetricsColumns,
    rowCount: size,
    row,
  };
}
