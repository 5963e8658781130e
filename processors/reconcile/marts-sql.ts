/**
 * The marts of CONTRACT.md §2–§3 in DuckDB SQL over the staged `orders` and `order_categories`
 * tables, each query returning the mart's CSV cells (VARCHAR, null as '') in its key order.
 * Every derived figure is an exact ratio of integers, rounded half away from zero only when it is
 * written.
 */
import { sqlInteger, sqlString } from './staging-sql.js';

export const ReconcileMart = {
  CustomerMetrics: 'customer_metrics',
  SalesTrends: 'sales_trends',
  LoyaltyImpact: 'loyalty_impact',
  LocationPerformance: 'location_performance',
  DiscountEffectiveness: 'discount_effectiveness',
  DiscountBeforeAfter: 'discount_before_after',
} as const;
export type ReconcileMart = (typeof ReconcileMart)[keyof typeof ReconcileMart];

/** The windows and thresholds of the marts (CONTRACT.md §2 defaults). */
export interface MartWindows {
  /** RFM window: the days ending on as_of. @default 180 */
  readonly rfmWindowDays: number;
  /** Length of one spend period of the churn indicators. @default 30 */
  readonly spendPeriodDays: number;
  /** Periods in the recent spend, and in the prior spend before it. @default 3 */
  readonly spendPeriodCount: number;
  /** At risk when the days since the last order exceed this. @default 45 */
  readonly atRiskDays: number;
  /** Location performance's recent window. @default 30 */
  readonly recentDays: number;
  /** Discount before/after window. @default 30 */
  readonly discountWindowDays: number;
}

export const defaultMartWindows: MartWindows = {
  rfmWindowDays: 180,
  spendPeriodDays: 30,
  spendPeriodCount: 3,
  atRiskDays: 45,
  recentDays: 30,
  discountWindowDays: 30,
};

/**
 * Writing figures (CONTRACT.md §3): `half_away(n, d)` is the integer nearest n/d, halves away from
 * zero; `scaled_text(v, k)` writes an integer v as v / 10^k with k decimals; `money_text(cents)`
 * and `money_ratio_text(n, d)` write dollars; `ratio_text(n, d, k)` writes n/d with k decimals;
 * `guard` prefixes `'` to text starting with = + - @.
 */
export const formatMacrosSql = `
CREATE MACRO half_away(n, d) AS
  (CASE WHEN (CAST(n AS HUGEINT) < 0) <> (CAST(d AS HUGEINT) < 0) THEN -1 ELSE 1 END)
  * (abs(CAST(n AS HUGEINT)) // abs(CAST(d AS HUGEINT))
     + CASE WHEN 2 * (abs(CAST(n AS HUGEINT)) % abs(CAST(d AS HUGEINT))) >= abs(CAST(d AS HUGEINT)) THEN 1 ELSE 0 END);
CREATE MACRO scaled_text(v, k) AS
  (CASE WHEN CAST(v AS HUGEINT) < 0 THEN '-' ELSE '' END)
  || CAST(abs(CAST(v AS HUGEINT)) // CAST(power(10, k) AS HUGEINT) AS VARCHAR)
  || '.' || lpad(CAST(abs(CAST(v AS HUGEINT)) % CAST(power(10, k) AS HUGEINT) AS VARCHAR), k, '0');
CREATE MACRO money_text(cents) AS scaled_text(cents, 2);
CREATE MACRO money_ratio_text(n, d) AS CASE WHEN d = 0 THEN NULL ELSE scaled_text(half_away(n, d), 2) END;
CREATE MACRO ratio_text(n, d, k) AS
  CASE WHEN d = 0 THEN NULL ELSE scaled_text(half_away(CAST(n AS HUGEINT) * CAST(power(10, k) AS HUGEINT), d), k) END;
CREATE MACRO guard(text) AS CASE WHEN regexp_matches(text, '^[=+\\-@]') THEN '''' || text ELSE text END;
CREATE MACRO date_text(day) AS strftime(day, '%Y-%m-%d');
CREATE MACRO bool_text(flag) AS CASE WHEN flag THEN 'true' WHEN NOT flag THEN 'false' END;
CREATE MACRO rfm_score(rank_minus_one, population) AS
  CASE WHEN population <= 1 THEN 1 ELSE least(5, 1 + (5 * rank_minus_one) // (population - 1)) END;
`;

/** The orders a snapshot covers: local date on or before as_of. */
export function snapshotOrdersSql(asOf: string): string {
  return `
CREATE OR REPLACE TABLE snapshot_orders AS SELECT * FROM orders WHERE local_date <= DATE ${sqlString(asOf)};
CREATE OR REPLACE TABLE snapshot_categories AS
  SELECT c.*, o.location_id, o.local_date FROM order_categories c JOIN snapshot_orders o USING (order_id);
CREATE OR REPLACE TABLE customers AS
SELECT customer_id, bool_or(is_loyalty) AS loyalty_member, min(local_date) AS first_date, max(local_date) AS last_date,
  count(*) AS orders, sum(net_cents) AS clv_cents
FROM snapshot_orders WHERE customer_id IS NOT NULL GROUP BY customer_id;
`;
}

/** The mart queries, by mart, for one as_of (run after {@link snapshotOrdersSql}). */
export function martQueries(asOf: string, windows: MartWindows): Record<ReconcileMart, string> {
  const asOfDate = `DATE ${sqlString(asOf)}`;
  const rfmStart = `(${asOfDate} - ${sqlInteger(windows.rfmWindowDays - 1)})`;
  const spendSpan = windows.spendPeriodDays * windows.spendPeriodCount;
  const recentStart = `(${asOfDate} - ${sqlInteger(spendSpan - 1)})`;
  const priorStart = `(${asOfDate} - ${sqlInteger(2 * spendSpan - 1)})`;
  const recent30Start = `(${asOfDate} - ${sqlInteger(windows.recentDays - 1)})`;
  const discountWindow = sqlInteger(windows.discountWindowDays);
  return {
    customer_metrics: `
WITH windowed AS (
  SELECT c.*, date_diff('day', c.last_date, ${asOfDate}) AS recency_days,
    coalesce(w.frequency, 0) AS frequency, coalesce(w.monetary_cents, 0) AS monetary_cents,
    coalesce(w.recent_cents, 0) AS recent_cents, coalesce(w.prior_cents, 0) AS prior_cents
  FROM customers c LEFT JOIN (
    SELECT customer_id,
      count(*) FILTER (WHERE local_date >= ${rfmStart}) AS frequency,
      sum(net_cents) FILTER (WHERE local_date >= ${rfmStart}) AS monetary_cents,
      sum(net_cents) FILTER (WHERE local_date >= ${recentStart}) AS recent_cents,
      sum(net_cents) FILTER (WHERE local_date >= ${priorStart} AND local_date < ${recentStart}) AS prior_cents
    FROM snapshot_orders WHERE customer_id IS NOT NULL GROUP BY customer_id
  ) w USING (customer_id)
), ranked AS (
  SELECT *, rank() OVER (ORDER BY clv_cents) - 1 AS clv_rank, count(*) OVER () AS population FROM windowed
), scored AS (
  SELECT customer_id,
    rfm_score(rank() OVER (ORDER BY recency_days DESC) - 1, count(*) OVER ()) AS r_score,
    rfm_score(rank() OVER (ORDER BY frequency) - 1, count(*) OVER ()) AS f_score,
    rfm_score(rank() OVER (ORDER BY monetary_cents) - 1, count(*) OVER ()) AS m_score
  FROM windowed WHERE frequency > 0
), tiered AS (
  SELECT r.*, s.r_score, s.f_score, s.m_score,
    -- p = (rank − 1) / (n − 1), and 0 when n = 1.
    greatest(population - 1, 1) AS percentile_den
  FROM ranked r LEFT JOIN scored s USING (customer_id)
)
SELECT guard(customer_id), bool_text(loyalty_member), date_text(first_date), date_text(last_date), CAST(orders AS VARCHAR),
  money_text(clv_cents), ratio_text(clv_rank, percentile_den, 6),
  CASE WHEN 5 * clv_rank >= 4 * percentile_den THEN 'High' WHEN 5 * clv_rank < percentile_den THEN 'Low' ELSE 'Medium' END,
  CAST(recency_days AS VARCHAR), CAST(frequency AS VARCHAR), money_text(monetary_cents),
  CAST(r_score AS VARCHAR), CAST(f_score AS VARCHAR), CAST(m_score AS VARCHAR),
  CASE
    WHEN r_score IS NULL THEN 'Inactive'
    WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'VIP'
    WHEN r_score >= 4 AND f_score <= 2 THEN 'New Customer'
    WHEN r_score <= 2 AND f_score <= 2 THEN 'Churn Risk'
    WHEN f_score >= 4 THEN 'Loyal'
    WHEN r_score <= 2 THEN 'Lapsing'
    ELSE 'Regular'
  END,
  CASE WHEN orders > 1 THEN ratio_text(date_diff('day', first_date, last_date), orders - 1, 6) END,
  money_text(recent_cents), money_text(prior_cents),
  CASE WHEN prior_cents <> 0 THEN ratio_text((recent_cents - prior_cents) * 100, prior_cents, 2) END,
  bool_text(recency_days > ${sqlInteger(windows.atRiskDays)})
FROM tiered ORDER BY customer_id`,

    sales_trends: `
WITH order_facts AS (
  SELECT location_id, local_date, 'total' AS breakdown, 'total' AS breakdown_value, net_cents, items FROM snapshot_orders
  UNION ALL
  SELECT location_id, local_date, 'hour', lpad(CAST(local_hour AS VARCHAR), 2, '0'), net_cents, items FROM snapshot_orders
  UNION ALL
  SELECT location_id, local_date, 'daypart',
    CASE WHEN local_hour BETWEEN 5 AND 10 THEN 'breakfast' WHEN local_hour BETWEEN 11 AND 14 THEN 'lunch'
      WHEN local_hour BETWEEN 15 AND 16 THEN 'afternoon' WHEN local_hour BETWEEN 17 AND 20 THEN 'dinner' ELSE 'late' END,
    net_cents, items FROM snapshot_orders
  UNION ALL
  SELECT location_id, local_date, 'category', category, net_cents, items FROM snapshot_categories
), periods AS (
  SELECT 'day' AS grain, date_text(local_date) AS period, local_date AS day, * EXCLUDE (local_date) FROM order_facts
  UNION ALL
  SELECT 'week', strftime(local_date, '%G-W%V'), NULL, * EXCLUDE (local_date) FROM order_facts
  UNION ALL
  SELECT 'month', strftime(local_date, '%Y-%m'), NULL, * EXCLUDE (local_date) FROM order_facts
), chain AS (
  SELECT * FROM periods UNION ALL SELECT * REPLACE ('ALL' AS location_id) FROM periods
), figures AS (
  SELECT grain, period, any_value(day) AS day, location_id, breakdown, breakdown_value,
    sum(net_cents) AS net_cents, count(*) AS orders, sum(items) AS items
  FROM chain GROUP BY grain, period, location_id, breakdown, breakdown_value
)
SELECT grain, guard(period), guard(location_id), breakdown, guard(breakdown_value), money_text(net_cents),
  CAST(orders AS VARCHAR), CAST(items AS VARCHAR),
  CASE WHEN grain = 'day' THEN bool_text(h.calendar_date IS NOT NULL) END,
  CASE WHEN grain = 'day' THEN guard(h.holiday_name) END
FROM figures f LEFT JOIN holidays h ON f.day = h.calendar_date
ORDER BY grain, period, location_id, breakdown, breakdown_value`,

    loyalty_impact: `
WITH customer_groups AS (
  SELECT g.group_name, count(c.customer_id) AS customers, coalesce(sum(c.orders), 0) AS orders,
    coalesce(sum(c.clv_cents), 0) AS revenue_cents, count(*) FILTER (WHERE c.orders >= 2) AS repeat_customers,
    list(c.clv_cents ORDER BY c.clv_cents) FILTER (WHERE c.customer_id IS NOT NULL) AS clvs
  FROM (VALUES ('member', true), ('non_member', false)) g(group_name, is_member)
  LEFT JOIN customers c ON c.loyalty_member = g.is_member
  GROUP BY g.group_name
), guests AS (
  SELECT 'guest' AS group_name, count(*) AS orders, coalesce(sum(net_cents), 0) AS revenue_cents
  FROM snapshot_orders WHERE customer_id IS NULL
)
SELECT group_name, CAST(customers AS VARCHAR), CAST(orders AS VARCHAR), money_text(revenue_cents),
  money_ratio_text(revenue_cents, orders), ratio_text(orders, customers, 6), ratio_text(repeat_customers, customers, 6),
  money_ratio_text(revenue_cents, customers),
  CASE WHEN customers = 0 THEN NULL
    WHEN customers % 2 = 1 THEN money_text(clvs[customers // 2 + 1])
    ELSE money_ratio_text(clvs[customers // 2] + clvs[customers // 2 + 1], 2) END
FROM customer_groups
UNION ALL
SELECT group_name, NULL, CAST(orders AS VARCHAR), money_text(revenue_cents), money_ratio_text(revenue_cents, orders),
  NULL, NULL, NULL, NULL
FROM guests
ORDER BY 1`,

    location_performance: `
WITH locations AS (
  SELECT location_id, sum(net_cents) AS revenue_cents, count(*) AS orders, count(DISTINCT local_date) AS active_days,
    date_diff('day', min(local_date), ${asOfDate}) + 1 AS span_days,
    coalesce(sum(net_cents) FILTER (WHERE local_date >= ${recent30Start}), 0) AS revenue_30d_cents,
    count(*) FILTER (WHERE local_date >= ${recent30Start}) AS orders_30d
  FROM snapshot_orders GROUP BY location_id
), location_customers AS (
  SELECT location_id, count(*) AS customers, count(*) FILTER (WHERE orders >= 2) AS repeat_customers
  FROM (SELECT location_id, customer_id, count(*) AS orders FROM snapshot_orders
        WHERE customer_id IS NOT NULL GROUP BY location_id, customer_id)
  GROUP BY location_id
)
SELECT guard(l.location_id), CAST(row_number() OVER (ORDER BY l.revenue_cents DESC, l.location_id) AS VARCHAR),
  money_text(l.revenue_cents), CAST(l.orders AS VARCHAR), money_ratio_text(l.revenue_cents, l.orders),
  CAST(l.active_days AS VARCHAR), ratio_text(l.orders, l.span_days, 6), ratio_text(7 * l.orders, l.span_days, 6),
  money_text(l.revenue_30d_cents), CAST(l.orders_30d AS VARCHAR), CAST(coalesce(c.customers, 0) AS VARCHAR),
  ratio_text(c.repeat_customers, c.customers, 6)
FROM locations l LEFT JOIN location_customers c USING (location_id)
ORDER BY l.location_id`,

    discount_effectiveness: `
WITH scopes AS (
  SELECT location_id, discounted, net_cents, gross_cents, discount_cents FROM snapshot_orders
  UNION ALL
  SELECT 'ALL', discounted, net_cents, gross_cents, discount_cents FROM snapshot_orders
), sides AS (
  SELECT s.location_id, d.discounted FROM (SELECT DISTINCT location_id FROM scopes) s
  CROSS JOIN (VALUES (false), (true)) d(discounted)
), figures AS (
  SELECT sides.location_id, sides.discounted, count(scopes.location_id) AS orders,
    coalesce(sum(scopes.gross_cents), 0) AS gross_cents, coalesce(sum(scopes.discount_cents), 0) AS discount_cents,
    coalesce(sum(scopes.net_cents), 0) AS net_cents
  FROM sides LEFT JOIN scopes USING (location_id, discounted)
  GROUP BY sides.location_id, sides.discounted
)
SELECT guard(location_id), bool_text(discounted), CAST(orders AS VARCHAR), money_text(gross_cents),
  money_text(discount_cents), money_text(net_cents), money_ratio_text(net_cents, orders)
FROM figures ORDER BY location_id, discounted`,

    discount_before_after: `
WITH locations AS (
  SELECT location_id, min(local_date) AS first_date, min(local_date) FILTER (WHERE discounted) AS discount_date
  FROM snapshot_orders GROUP BY location_id
), windows AS (
  SELECT *, greatest(discount_date - ${discountWindow}, first_date) AS before_start,
    least(discount_date + (${discountWindow} - 1), ${asOfDate}) AS after_end
  FROM locations
), figures AS (
  SELECT w.location_id, w.discount_date,
    date_diff('day', w.before_start, w.discount_date) AS before_days,
    date_diff('day', w.discount_date, w.after_end) + 1 AS after_days,
    count(o.order_id) FILTER (WHERE o.local_date >= w.before_start AND o.local_date < w.discount_date) AS orders_before,
    coalesce(sum(o.net_cents) FILTER (WHERE o.local_date >= w.before_start AND o.local_date < w.discount_date), 0) AS revenue_before,
    count(o.order_id) FILTER (WHERE o.local_date >= w.discount_date AND o.local_date <= w.after_end) AS orders_after,
    coalesce(sum(o.net_cents) FILTER (WHERE o.local_date >= w.discount_date AND o.local_date <= w.after_end), 0) AS revenue_after
  FROM windows w LEFT JOIN snapshot_orders o USING (location_id)
  GROUP BY ALL
)
SELECT guard(location_id), date_text(discount_date),
  CASE WHEN discount_date IS NOT NULL THEN ratio_text(orders_before, before_days, 6) END,
  CASE WHEN discount_date IS NOT NULL THEN ratio_text(orders_after, after_days, 6) END,
  CASE WHEN discount_date IS NOT NULL THEN money_ratio_text(revenue_before, before_days) END,
  CASE WHEN discount_date IS NOT NULL THEN money_ratio_text(revenue_after, after_days) END
FROM figures ORDER BY location_id`,
  };
}

/** Column names of each mart, in CSV order (CONTRACT.md §3), and the columns its rows are keyed by. */
export const martLayouts: Readonly<
  Record<ReconcileMart, { readonly columns: readonly string[]; readonly keyColumns: readonly string[] }>
> = {
  customer_metrics: {
    columns: [
      'customer_id',
      'loyalty_member',
      'first_order_date',
      'last_order_date',
      'orders',
      'clv',
      'clv_percentile',
      'clv_tier',
      'recency_days',
      'frequency_180d',
      'monetary_180d',
      'r_score',
      'f_score',
      'm_score',
      'rfm_segment',
      'avg_gap_days',
      'spend_recent_90d',
      'spend_prior_90d',
      'spend_change_pct',
      'at_risk',
    ],
    keyColumns: ['customer_id'],
  },
  sales_trends: {
    columns: [
      'grain',
      'period',
      'location_id',
      'breakdown',
      'breakdown_value',
      'revenue',
      'orders',
      'items',
      'is_holiday',
      'holiday_name',
    ],
    keyColumns: ['grain', 'period', 'location_id', 'breakdown', 'breakdown_value'],
  },
  loyalty_impact: {
    columns: [
      'group',
      'customers',
      'orders',
      'revenue',
      'avg_order_value',
      'orders_per_customer',
      'repeat_rate',
      'avg_clv',
      'median_clv',
    ],
    keyColumns: ['group'],
  },
  location_performance: {
    columns: [
      'location_id',
      'rank',
      'revenue',
      'orders',
      'avg_order_value',
      'active_days',
      'orders_per_day',
      'orders_per_week',
      'revenue_30d',
      'orders_30d',
      'customers',
      'repeat_customer_rate',
    ],
    keyColumns: ['location_id'],
  },
  discount_effectiveness: {
    columns: [
      'location_id',
      'discounted',
      'orders',
      'gross_revenue',
      'discount',
      'net_revenue',
      'avg_order_value',
    ],
    keyColumns: ['location_id', 'discounted'],
  },
  discount_before_after: {
    columns: [
      'location_id',
      'first_discount_date',
      'orders_per_day_before',
      'orders_per_day_after',
      'revenue_per_day_before',
      'revenue_per_day_after',
    ],
    keyColumns: ['location_id'],
  },
};
