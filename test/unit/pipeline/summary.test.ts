import { describe, expect, it } from 'vitest';
import {
  arrayMart,
  type CustomerMetricsRow,
  computeMarts,
  customerMetricsColumns,
  type DiscountBeforeAfterRow,
  type DiscountEffectivenessRow,
  discountBeforeAfterColumns,
  discountEffectivenessColumns,
  type Fraction,
  type LocationPerformanceRow,
  type LoyaltyImpactRow,
  locationPerformanceColumns,
  loyaltyImpactColumns,
  MartName,
  type Marts,
  type SalesTrendsRow,
  salesTrendsColumns,
} from '../../../aggregates/marts/index.js';
import { summariseMarts } from '../../../processors/pipeline/summary.js';
import { customerDay, history, locationDay } from '../marts/fixtures.js';

const f = (num: number, den: number): Fraction => ({ num, den });

function customer(customerId: string, row: Partial<CustomerMetricsRow>): CustomerMetricsRow {
  return {
    customerId,
    loyaltyMember: false,
    firstOrderDate: '2023-07-03',
    lastOrderDate: '2023-07-03',
    orders: 1,
    clvCents: 0,
    clvPercentile: f(0, 1),
    clvTier: 'Low',
    recencyDays: 0,
    frequency180d: 1,
    monetary180dCents: 0,
    rScore: 1,
    fScore: 1,
    mScore: 1,
    rfmSegment: 'Regular',
    avgGapDays: null,
    spendRecentCents: 0,
    spendPriorCents: 0,
    spendChangePct: null,
    atRisk: false,
    ...row,
  };
}

function trend(
  grain: SalesTrendsRow['grain'],
  period: string,
  breakdown: SalesTrendsRow['breakdown'],
  breakdownValue: string,
  revenueCents: number,
  orders: number,
  items: number,
  options: { locationId?: string; holidayName?: string } = {},
): SalesTrendsRow {
  const isDay = grain === 'day';
  return {
    grain,
    period,
    locationId: options.locationId ?? 'ALL',
    breakdown,
    breakdownValue,
    revenueCents,
    orders,
    items,
    isHoliday: isDay ? options.holidayName !== undefined : null,
    holidayName: options.holidayName ?? null,
  };
}

function marts(rows: {
  customers?: CustomerMetricsRow[];
  trends?: SalesTrendsRow[];
  loyalty?: LoyaltyImpactRow[];
  locations?: LocationPerformanceRow[];
  discounts?: DiscountEffectivenessRow[];
  beforeAfter?: DiscountBeforeAfterRow[];
}): Marts {
  return {
    customer_metrics: arrayMart(
      MartName.CustomerMetrics,
      ['customer_id'],
      customerMetricsColumns,
      rows.customers ?? [],
    ),
    sales_trends: arrayMart(MartName.SalesTrends, ['grain'], salesTrendsColumns, rows.trends ?? []),
    loyalty_impact: arrayMart(MartName.LoyaltyImpact, ['group'], loyaltyImpactColumns, rows.loyalty ?? []),
    location_performance: arrayMart(
      MartName.LocationPerformance,
      ['location_id'],
      locationPerformanceColumns,
      rows.locations ?? [],
    ),
    discount_effectiveness: arrayMart(
      MartName.DiscountEffectiveness,
      ['location_id', 'discounted'],
      discountEffectivenessColumns,
      rows.discounts ?? [],
    ),
    discount_before_after: arrayMart(
      MartName.DiscountBeforeAfter,
      ['location_id'],
      discountBeforeAfterColumns,
      rows.beforeAfter ?? [],
    ),
  };
}

/**
 * A snapshot as of 2023-08-20 of 11 orders, worked out by hand:
 * - loc-a ("Downtown"): 2023-07-03 (Mon, 2023-W27) 4 orders $100 = c1 $30 + c2 $20 + 2 guests $50;
 *   2023-07-04 (Independence Day) 5 orders $150 = c1 2 orders $70 + c3 $40 + 2 guests $40; two of
 *   the 07-04 orders are discounted: gross $60, discount $10, net $50.
 * - loc-b: 2023-08-01 (2023-W31) c4, 2 orders $50, one discounted: gross $30, discount $5, net $25.
 * Categories: July Burgers $180 (7 orders, 9 items) + Drinks $70 (6, 6); August Burgers $30 (2, 2)
 * + Sides $20 (1, 1). Hours: July 12h $130 (5, 8) + 18h $120 (4, 7); August 08h $30 (1, 2) + 12h
 * $20 (1, 1). Items: 6 + 9 + 3 = 18.
 */
const snapshot = marts({
  customers: [
    // CLV 100, 20, 40, 50: percent ranks 3/3, 0/3, 1/3, 2/3. Recency (as_of − last order) 47, 48,
    // 47, 19; RFM among the 4: R (by recency, descending) 2, 1, 2, 5; F (orders 3, 1, 1, 2) 5, 1, 1,
    // 4; M 5, 1, 2, 4. Every order is in the last 90 days, none in the 90 before.
    customer('c1', {
      loyaltyMember: true,
      lastOrderDate: '2023-07-04',
      orders: 3,
      clvCents: 100_00,
      clvPercentile: f(3, 3),
      clvTier: 'High',
      recencyDays: 47,
      frequency180d: 3,
      monetary180dCents: 100_00,
      rScore: 2,
      fScore: 5,
      mScore: 5,
      rfmSegment: 'Loyal',
      avgGapDays: f(1, 2),
      spendRecentCents: 100_00,
      atRisk: true,
    }),
    customer('c2', {
      clvCents: 20_00,
      recencyDays: 48,
      monetary180dCents: 20_00,
      rfmSegment: 'Churn Risk',
      spendRecentCents: 20_00,
      atRisk: true,
    }),
    customer('c3', {
      firstOrderDate: '2023-07-04',
      lastOrderDate: '2023-07-04',
      clvCents: 40_00,
      clvPercentile: f(1, 3),
      clvTier: 'Medium',
      recencyDays: 47,
      monetary180dCents: 40_00,
      rScore: 2,
      mScore: 2,
      rfmSegment: 'Churn Risk',
      spendRecentCents: 40_00,
      atRisk: true,
    }),
    customer('c4', {
      firstOrderDate: '2023-08-01',
      lastOrderDate: '2023-08-01',
      orders: 2,
      clvCents: 50_00,
      clvPercentile: f(2, 3),
      clvTier: 'Medium',
      recencyDays: 19,
      frequency180d: 2,
      monetary180dCents: 50_00,
      rScore: 5,
      fScore: 4,
      mScore: 4,
      rfmSegment: 'VIP',
      avgGapDays: f(0, 1),
      spendRecentCents: 50_00,
    }),
  ],
  trends: [
    trend('day', '2023-07-03', 'total', 'total', 100_00, 4, 6),
    trend('day', '2023-07-04', 'total', 'total', 150_00, 5, 9, { holidayName: 'Independence Day' }),
    // Day and location rows the summary must not add to the months' breakdowns or the chain.
    trend('day', '2023-07-04', 'category', 'Drinks', 40_00, 3, 4, { holidayName: 'Independence Day' }),
    trend('day', '2023-07-04', 'hour', '18', 120_00, 4, 7, { holidayName: 'Independence Day' }),
    trend('day', '2023-08-01', 'total', 'total', 50_00, 2, 3),
    trend('month', '2023-07', 'category', 'Burgers', 180_00, 7, 9),
    trend('month', '2023-07', 'category', 'Drinks', 70_00, 6, 6),
    trend('month', '2023-07', 'daypart', 'dinner', 120_00, 4, 7),
    trend('month', '2023-07', 'daypart', 'lunch', 130_00, 5, 8),
    trend('month', '2023-07', 'hour', '12', 130_00, 5, 8),
    trend('month', '2023-07', 'hour', '18', 120_00, 4, 7),
    trend('month', '2023-07', 'total', 'total', 250_00, 9, 15),
    trend('month', '2023-07', 'total', 'total', 250_00, 9, 15, { locationId: 'loc-a' }),
    trend('month', '2023-08', 'category', 'Burgers', 30_00, 2, 2),
    trend('month', '2023-08', 'category', 'Sides', 20_00, 1, 1),
    trend('month', '2023-08', 'daypart', 'breakfast', 30_00, 1, 2),
    trend('month', '2023-08', 'daypart', 'lunch', 20_00, 1, 1),
    trend('month', '2023-08', 'hour', '08', 30_00, 1, 2),
    trend('month', '2023-08', 'hour', '12', 20_00, 1, 1),
    trend('month', '2023-08', 'total', 'total', 50_00, 2, 3),
    trend('month', '2023-08', 'total', 'total', 50_00, 2, 3, { locationId: 'loc-b' }),
    trend('week', '2023-W27', 'total', 'total', 250_00, 9, 15),
    trend('week', '2023-W31', 'total', 'total', 50_00, 2, 3),
  ],
  loyalty: [
    {
      group: 'guest',
      customers: null,
      orders: 4,
      revenueCents: 90_00,
      avgOrderValueCents: f(90_00, 4),
      ordersPerCustomer: null,
      repeatRate: null,
      avgClvCents: null,
      medianClvCents: null,
    },
    {
      group: 'member', // c1
      customers: 1,
      orders: 3,
      revenueCents: 100_00,
      avgOrderValueCents: f(100_00, 3),
      ordersPerCustomer: f(3, 1),
      repeatRate: f(1, 1),
      avgClvCents: f(100_00, 1),
      medianClvCents: 100_00,
    },
    {
      group: 'non_member', // c2, c3, c4
      customers: 3,
      orders: 4,
      revenueCents: 110_00,
      avgOrderValueCents: f(110_00, 4),
      ordersPerCustomer: f(4, 3),
      repeatRate: f(1, 3),
      avgClvCents: f(110_00, 3),
      medianClvCents: 40_00,
    },
  ],
  locations: [
    // Span 2023-07-03 … 2023-08-20 = 49 days; last 30 days 2023-07-22 … 2023-08-20: nothing.
    {
      locationId: 'loc-a',
      rank: 1,
      revenueCents: 250_00,
      orders: 9,
      avgOrderValueCents: f(250_00, 9),
      activeDays: 2,
      ordersPerDay: f(9, 49),
      ordersPerWeek: f(63, 49),
      revenue30dCents: 0,
      orders30d: 0,
      customers: 3,
      repeatCustomerRate: f(1, 3),
    },
    // Span 2023-08-01 … 2023-08-20 = 20 days, all in the last 30.
    {
      locationId: 'loc-b',
      rank: 2,
      revenueCents: 50_00,
      orders: 2,
      avgOrderValueCents: f(50_00, 2),
      activeDays: 1,
      ordersPerDay: f(2, 20),
      ordersPerWeek: f(14, 20),
      revenue30dCents: 50_00,
      orders30d: 2,
      customers: 1,
      repeatCustomerRate: f(1, 1),
    },
  ],
  discounts: [
    ['ALL', false, 8, 225_00, 0],
    ['ALL', true, 3, 90_00, 15_00],
    ['loc-a', false, 7, 200_00, 0],
    ['loc-a', true, 2, 60_00, 10_00],
    ['loc-b', false, 1, 25_00, 0],
    ['loc-b', true, 1, 30_00, 5_00],
  ].map(([locationId, discounted, orders, gross, discount]) => ({
    locationId: locationId as string,
    discounted: discounted as boolean,
    orders: orders as number,
    grossRevenueCents: gross as number,
    discountCents: discount as number,
    netRevenueCents: (gross as number) - (discount as number),
    avgOrderValueCents: f((gross as number) - (discount as number), orders as number),
  })),
  beforeAfter: [
    // Before 07-04: 2023-07-03 only (the first day), 4 orders $100; after: 07-04 … 08-02, 30 days,
    // 5 orders $150.
    {
      locationId: 'loc-a',
      firstDiscountDate: '2023-07-04',
      ordersPerDayBefore: f(4, 1),
      ordersPerDayAfter: f(5, 30),
      revenuePerDayBeforeCents: f(100_00, 1),
      revenuePerDayAfterCents: f(150_00, 30),
    },
    // Discounts from its first day: no day before; after: 08-01 … 08-20, 20 days.
    {
      locationId: 'loc-b',
      firstDiscountDate: '2023-08-01',
      ordersPerDayBefore: null,
      ordersPerDayAfter: f(2, 20),
      revenuePerDayBeforeCents: null,
      revenuePerDayAfterCents: f(50_00, 20),
    },
  ],
});

describe('the closing summary', () => {
  it('writes a line for every metric family of every mart, figures as worked out by hand', () => {
    // Act
    const lines = summariseMarts(snapshot, new Map([['loc-a', 'Downtown']])).split('\n');

    // Assess
    expect(lines).toEqual([
      // $300 over 11 orders = $27.2727…; last 30 days: loc-b only; at risk: c1, c2, c3 of 4;
      // discounted: 3 of 11 = 27.27…%.
      'figure                                     value',
      'net revenue                              $300.00',
      'orders                                        11',
      'average order value                       $27.27',
      'net revenue, last 30 days      $50.00 (2 orders)',
      'customers                                      4',
      'at-risk customers (> 45 days)          3 (75.0%)',
      'discounted orders                      3 (27.3%)',
      'discounts given                           $15.00',
      '',
      'CLV tier  customers              CLV',
      'High      1 (25.0%)          $100.00',
      'Medium    2 (50.0%)  $40.00 – $50.00',
      'Low       1 (25.0%)           $20.00',
      '',
      // Monetary 180 days: VIP c4 $50, Loyal c1 $100, Churn Risk c2 + c3 $60.
      'RFM segment   customers  revenue, 180 days',
      'VIP           1 (25.0%)             $50.00',
      'Loyal         1 (25.0%)            $100.00',
      'Regular        0 (0.0%)              $0.00',
      'New Customer   0 (0.0%)              $0.00',
      'Lapsing        0 (0.0%)              $0.00',
      'Churn Risk    2 (50.0%)             $60.00',
      'Inactive       0 (0.0%)              $0.00',
      '',
      // Recency 19, 47, 47, 48: median 47. Gaps (c4 0, c1 1/2): median 1/4, 0.25 → 0.3 (half away
      // from zero). Spend $100 + $20 + $40 + $50 in the last 90 days, nothing before.
      'churn indicator                     value',
      'days since last order, median       47.0 days',
      'average gap between orders, median  0.3 days (2 customers with 2+ orders)',
      'spend, last 90 days vs prior 90     $210.00 vs $0.00 (–)',
      'spend change per customer, median   – (0 up, 0 down, 4 without prior spend)',
      '',
      // Shares of the months' $300: 150/300, 250/300 = 83.33…%, Burgers 180 + 30 = 210 (70%), Drinks
      // 70 (23.33…%), Sides 20 (6.66…%); 12h and lunch 130 + 20 = 150. Other days: (100 + 50) / 2,
      // (4 + 2) / 2 orders, (6 + 3) / 2 items.
      'sales trends (chain)         when         revenue  orders  items  share',
      'best day (Independence Day)  2023-07-04   $150.00       5      9  50.0%',
      'best week                    2023-W27     $250.00       9     15  83.3%',
      'best month                   2023-07      $250.00       9     15  83.3%',
      'peak hour                    12:00–12:59  $150.00       6      9  50.0%',
      'peak daypart                 lunch        $150.00       6      9  50.0%',
      'top category                 Burgers      $210.00       9     11  70.0%',
      '2nd category                 Drinks        $70.00       6      6  23.3%',
      '3rd category                 Sides         $20.00       1      1   6.7%',
      'holiday, average             1 day        $150.00     5.0    9.0',
      'other day, average           2 days        $75.00     3.0    4.5',
      '',
      // loc-a: $250 / 9 = $27.777…, 9 / 49 = 0.1836… orders per day, 1 of 3 customers repeat.
      'rank  location  revenue  orders  avg order  orders/day  repeat',
      '1     Downtown  $250.00       9     $27.78        0.18   33.3%',
      '2     loc-b      $50.00       2     $25.00        0.10  100.0%',
      '',
      // member $100 / 3 = $33.333…; non-member $110 / 4 = $27.50, 4 / 3 = 1.333… orders per
      // customer, $110 / 3 = $36.666… average CLV, median of 20, 40, 50 = $40.
      'loyalty     customers  orders  revenue  avg order  orders/cust  repeat  avg CLV  median CLV',
      'guest               –       4   $90.00     $22.50            –       –        –           –',
      'member              1       3  $100.00     $33.33         3.00  100.0%  $100.00     $100.00',
      'non_member          3       4  $110.00     $27.50         1.33   33.3%   $36.67      $40.00',
      '',
      // Full price $225 / 8 = $28.125 → $28.13 (half away from zero); 8 / 11 = 72.72…%.
      'discounts (chain)  orders  share    gross  discount      net  avg order',
      'full price              8  72.7%  $225.00     $0.00  $225.00     $28.13',
      'discounted              3  27.3%   $90.00    $15.00   $75.00     $25.00',
      '',
      // Only loc-a has days before: 4 → 5/30 = 0.1666… orders per day, (1/6 − 4) / 4 = −95.833…%;
      // $100 → $5 a day, −95%.
      'discount before/after                 before  after  change',
      'orders per day (avg of 1 location)      4.00   0.17  -95.8%',
      'revenue per day (avg of 1 location)  $100.00  $5.00  -95.0%',
      'first discount at 2 of 2 locations, 2023-07-04 … 2023-08-01; orders per day rose at 0 of 1',
    ]);
  });

  it('takes medians of churn indicators and averages before/after over the locations with both windows', () => {
    // Prepare
    const text = summariseMarts(
      marts({
        customers: [
          // Spend change (recent − prior) / prior: +50%, −20%, +50%, none, −50%.
          customer('p1', { recencyDays: 10, orders: 3, avgGapDays: f(10, 2), spendRecentCents: 150_00 }),
          customer('p2', { recencyDays: 50, orders: 2, avgGapDays: f(7, 1), spendRecentCents: 80_00 }),
          customer('p3', { recencyDays: 3, orders: 4, avgGapDays: f(20, 3), spendRecentCents: 300_00 }),
          customer('p4', { recencyDays: 100, spendRecentCents: 20_00 }),
          customer('p5', { recencyDays: 60, orders: 2, avgGapDays: f(0, 1), spendRecentCents: 15_00 }),
        ].map((row, index) => {
          const prior = [100_00, 100_00, 200_00, 0, 30_00][index]!;
          return {
            ...row,
            spendPriorCents: prior,
            spendChangePct:
              prior === 0 ? null : f((row.spendRecentCents as number) * 100 - prior * 100, prior),
          };
        }),
        beforeAfter: [
          {
            locationId: 'a',
            firstDiscountDate: '2023-06-11',
            ordersPerDayBefore: f(20, 10),
            ordersPerDayAfter: f(30, 10),
            revenuePerDayBeforeCents: f(20_000, 10),
            revenuePerDayAfterCents: f(36_000, 10),
          },
          {
            locationId: 'b',
            firstDiscountDate: '2023-06-05',
            ordersPerDayBefore: f(10, 4),
            ordersPerDayAfter: f(20, 10),
            revenuePerDayBeforeCents: f(10_000, 4),
            revenuePerDayAfterCents: f(30_000, 10),
          },
          {
            locationId: 'c',
            firstDiscountDate: '2023-07-20',
            ordersPerDayBefore: f(1, 3),
            ordersPerDayAfter: f(1, 1),
            revenuePerDayBeforeCents: f(1_000, 3),
            revenuePerDayAfterCents: f(1_001, 1),
          },
          {
            locationId: 'd',
            firstDiscountDate: '2023-07-01',
            ordersPerDayBefore: null,
            ordersPerDayAfter: f(5, 10),
            revenuePerDayBeforeCents: null,
            revenuePerDayAfterCents: f(5_000, 10),
          },
          {
            locationId: 'e',
            firstDiscountDate: null,
            ordersPerDayBefore: null,
            ordersPerDayAfter: null,
            revenuePerDayBeforeCents: null,
            revenuePerDayAfterCents: null,
          },
        ],
      }),
    );

    // Assess
    // Recency 3, 10, 50, 60, 100: median 50. Gaps 0, 5, 20/3, 7: median (5 + 20/3) / 2 = 35/6 =
    // 5.833…; changes −50, −20, +50, +50: median +15. Spend $565 against $430: +31.395…%.
    expect(text).toContain('days since last order, median       50.0 days\n');
    expect(text).toContain('average gap between orders, median  5.8 days (4 customers with 2+ orders)\n');
    expect(text).toContain('spend, last 90 days vs prior 90     $565.00 vs $430.00 (+31.4%)\n');
    expect(text).toContain(
      'spend change per customer, median   +15.0% (2 up, 2 down, 1 without prior spend)\n',
    );
    // a, b, c: orders per day before (2 + 2.5 + 1/3) / 3 = 29/18 = 1.6111…, after (3 + 2 + 1) / 3 = 2,
    // change 7/29 = +24.137…%; revenue per day before (2000 + 2500 + 1000/3) / 3 = 14500/9 cents =
    // $16.111…, after (3600 + 3000 + 1001) / 3 = 7601/3 cents = $25.336…, change 8303/14500 =
    // +57.26…%. Orders per day rose at a and c.
    expect(text.split('\n').slice(-4)).toEqual([
      'discount before/after                 before   after  change',
      'orders per day (avg of 3 locations)     1.61    2.00  +24.1%',
      'revenue per day (avg of 3 locations)  $16.11  $25.34  +57.3%',
      'first discount at 4 of 5 locations, 2023-06-05 … 2023-07-20; orders per day rose at 2 of 3',
    ]);
  });

  it('shows empty figures for a snapshot without orders', () => {
    // Act
    const text = summariseMarts(
      computeMarts({ asOf: '2023-08-31', customers: [], locationDays: [], holidays: [] }),
    );

    // Assess
    expect(text).toContain('\nnet revenue                               $0.00\n');
    expect(text).toContain('\naverage gap between orders, median  – (0 customers with 2+ orders)\n');
    expect(text).toContain('\nbest day              –             –       –      –      –\n');
    expect(text).toContain('\nholiday, average      0 days        –       –      –\n');
    expect(text).toContain('\nfull price              0      –  $0.00     $0.00  $0.00          –\n');
    expect(text.endsWith('no location has discounted yet')).toBe(true);
  });

  it('states the headline figures of the marts, in dollars, with location names', () => {
    // Prepare
    const marts = computeMarts({
      asOf: '2023-08-31',
      customers: [
        history('c1', [customerDay('2023-08-01', 123_456_78, { loyaltyOrders: 1 })]),
        history('c2', [customerDay('2023-08-02', 500), customerDay('2023-08-03', 250)]),
      ],
      locationDays: [
        locationDay('loc-a', '2023-08-01', 123_456_78),
        locationDay('loc-a', '2023-08-02', 500),
        locationDay('loc-b', '2023-08-03', 250),
      ],
      holidays: [],
    });

    // Act
    const text = summariseMarts(marts, new Map([['loc-a', 'Downtown']]));

    // Assess
    expect(text).toMatch(/net revenue\s+\$123,464\.28/);
    expect(text).toMatch(/orders\s+3\n/);
    expect(text).toMatch(/customers\s+2\n/);
    expect(text).toMatch(/1\s+Downtown\s+\$123,461\.78\s+2/);
    expect(text).toMatch(/2\s+loc-b\s+\$2\.50\s+1/);
    expect(text).toMatch(/High\s+1 \(50\.0%\)/);
    // Computed marts carry every section: the day of $123,456.78 at 12h (lunch), category Food.
    expect(text).toMatch(/best day\s+2023-08-01\s+\$123,456\.78\s+1\s+1\s+100\.0%/);
    expect(text).toMatch(/peak daypart\s+lunch\s+\$123,464\.28\s+3\s+3\s+100\.0%/);
    expect(text).toMatch(/top category\s+Food\s+\$123,464\.28/);
    expect(text).toMatch(/average gap between orders, median\s+1\.0 days \(1 customer with 2\+ orders\)/);
  });
});
