/**
 * Compaction benchmark (issue #9): every mart computed (all rows materialised) from 1,000,000
 * synthetic customer histories and 50 locations × 400 days, in a child process so its peak RSS
 * (`process.resourceUsage().maxRSS`) is its own; the CSV + Parquet encoding of every mart is timed
 * apart. Baseline: the same marts in DuckDB SQL over the same data, in the same run, loaded through
 * its appender (the load is reported, the SQL is timed). Targets: ≤ 10 s and ≤ 1 GiB. Then the
 * whole compaction on the embedded stack (`compact-stack.ts`: scan, marts, snapshot, profiles).
 *
 * Sizes: `TILLSTREAM_BENCH_COMPACT_CUSTOMERS` (default 1,000,000) and
 * `TILLSTREAM_BENCH_COMPACT_STACK_CUSTOMERS` (default 5,000; the size is 200,000).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Mart } from '../../aggregates/marts/columns.js';
import { computeMarts } from '../../aggregates/marts/index.js';
import type { CustomerDay, CustomerHistory, LocationDay } from '../../aggregates/marts/input.js';
import { dateFromDayNumber, dayNumber } from '../../aggregates/time.js';
import { martToCsv } from '../../processors/compaction/csv.js';
import { martToParquet } from '../../processors/compaction/parquet.js';
import { measureStackCompaction } from './compact-stack.js';
import type { BenchModule, BenchReport } from './registry.js';
import { positiveIntegerSetting } from './settings.js';

const CUSTOMERS = positiveIntegerSetting(process.env, 'TILLSTREAM_BENCH_COMPACT_CUSTOMERS', 1_000_000);
/**
 * The size is 200,000; on a 2-core machine the emulator writes the profiles back at a few
 * hundred puts/s, so the default is what fits the 15-minute budget of `npm run bench`.
 */
const STACK_CUSTOMERS = positiveIntegerSetting(
  process.env,
  'TILLSTREAM_BENCH_COMPACT_STACK_CUSTOMERS',
  5_000,
);
const LOCATIONS = 50;
const DAYS = 400;
const AS_OF = '2024-06-30';
const TARGET_SECONDS = 10;
const TARGET_PEAK_RSS_MIB = 1024;
const CATEGORIES = ['Burgers', 'Sides', 'Drinks', 'Desserts', 'Salads', 'Kids', 'Breakfast', 'Uncategorized'];

interface SyntheticChain {
  readonly customers: CustomerHistory[];
  readonly locationDays: LocationDay[];
}

/** A deterministic chain: customers with 1–6 days of orders over the 400 days ending on as_of. */
export function syntheticChain(customerCount = CUSTOMERS): SyntheticChain {
  let state = 0x9e3779b9;
  const next = (bound: number): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    return state % bound;
  };
  const firstDay = dayNumber(AS_OF) - DAYS + 1;
  const dates = Array.from({ length: DAYS }, (_, index) => dateFromDayNumber(firstDay + index));
  const locationIds = Array.from(
    { length: LOCATIONS },
    (_, index) => `64d${(index * 7919).toString(16).padStart(5, '0')}a1b2c3d4e5f6a7b8`,
  );
  const customers: CustomerHistory[] = new Array(customerCount);
  for (let index = 0; index < customerCount; index++) {
    const dayCount = 1 + next(6);
    const home = locationIds[next(LOCATIONS)]!;
    const member = next(10) < 3;
    const days: CustomerDay[] = new Array(dayCount);
    for (let day = 0; day < dayCount; day++) {
      const orders = 1 + (next(8) === 0 ? 1 : 0);
      days[day] = {
        date: dates[next(DAYS)]!,
        locationId: next(5) === 0 ? locationIds[next(LOCATIONS)]! : home,
        orders,
        netCents: orders * (400 + next(4600)),
        loyaltyOrders: member && day === 0 ? 1 : 0,
      };
    }
    customers[index] = { customerId: `u${String(index).padStart(8, '0')}`, rollup: null, days };
  }
  const locationDays: LocationDay[] = [];
  for (const locationId of locationIds) {
    for (const date of dates) {
      const byCategory: Record<string, { orders: number; items: number; netCents: number }> = {};
      const byHour: Record<string, { orders: number; items: number; netCents: number }> = {};
      let orders = 0;
      let items = 0;
      let netCents = 0;
      for (let hour = 7; hour <= 22; hour++) {
        const hourOrders = 1 + next(12);
        const hourItems = hourOrders * (1 + next(3));
        const hourNet = hourItems * (300 + next(900));
        byHour[String(hour).padStart(2, '0')] = { orders: hourOrders, items: hourItems, netCents: hourNet };
        orders += hourOrders;
        items += hourItems;
        netCents += hourNet;
      }
      for (const category of CATEGORIES) {
        byCategory[category] = { orders: next(orders) + 1, items: next(items) + 1, netCents: next(netCents) };
      }
      const discountedOrders = next(4) === 0 ? 0 : next(orders >> 2);
      const discountedNetCents = Math.floor((netCents * discountedOrders) / orders);
      const discountCents = discountedOrders * (50 + next(200));
      const guestOrders = next(orders >> 1);
      locationDays.push({
        locationId,
        date,
        orders,
        items,
        netCents,
        grossCents: netCents + discountCents,
        discountCents,
        discountedOrders,
        discountedItems: discountedOrders,
        discountedNetCents,
        discountedGrossCents: discountedNetCents + discountCents,
        guestOrders,
        guestNetCents: Math.floor((netCents * guestOrders) / orders),
        byCategory,
        byHour,
      });
    }
  }
  return { customers, locationDays };
}

/** Measured in the child process. */
interface ChildMeasure {
  readonly customers: number;
  readonly computeSeconds: number;
  readonly computeCpuSeconds: number;
  readonly writeSeconds: number;
  /** Peak RSS up to the end of the computation (input included), before any file is encoded. */
  readonly computePeakRssMib: number;
  /** Peak RSS including the CSV and Parquet encoding. */
  readonly peakRssMib: number;
  readonly inputRssMib: number;
  readonly rows: Readonly<Record<string, number>>;
  readonly highTier: number;
}

function cpuSeconds(): number {
  const usage = process.resourceUsage();
  return (usage.userCPUTime + usage.systemCPUTime) / 1e6;
}

async function measureChild(): Promise<ChildMeasure> {
  const chain = syntheticChain();
  const inputRssMib = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  const cpuStarted = cpuSeconds();
  const marts = computeMarts({
    asOf: AS_OF,
    customers: chain.customers,
    locationDays: chain.locationDays,
    holidays: [],
  });
  const rows: Record<string, number> = {};
  let highTier = 0;
  for (const mart of Object.values(marts) as Mart<unknown>[]) {
    // Rows are produced on demand: materialise every one so the figure covers the whole mart.
    for (let index = 0; index < mart.rowCount; index++) mart.row(index);
    rows[mart.name] = mart.rowCount;
  }
  for (let index = 0; index < marts.customer_metrics.rowCount; index++) {
    if (marts.customer_metrics.row(index).clvTier === 'High') highTier += 1;
  }
  const computeSeconds = (performance.now() - started) / 1000;
  const computeCpuSeconds = cpuSeconds() - cpuStarted;
  const computePeakRssMib = process.resourceUsage().maxRSS / 1024;
  const writeStarted = performance.now();
  for (const mart of Object.values(marts) as Mart<unknown>[]) {
    martToCsv(mart);
    martToParquet(mart);
  }
  const writeSeconds = (performance.now() - writeStarted) / 1000;
  return {
    customers: chain.customers.length,
    computeSeconds,
    computeCpuSeconds,
    writeSeconds,
    computePeakRssMib,
    peakRssMib: process.resourceUsage().maxRSS / 1024,
    inputRssMib,
    rows,
    highTier,
  };
}

/** The same marts in DuckDB SQL; returns the load and query seconds and the CLV High count. */
async function measureDuckdb(
  chain: SyntheticChain,
): Promise<{ loadSeconds: number; seconds: number; highTier: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const loadStarted = performance.now();
    await connection.run(
      'CREATE TABLE customer_days (customer_id VARCHAR, d INTEGER, location_id VARCHAR, orders INTEGER, net BIGINT, loyalty INTEGER)',
    );
    await connection.run(
      'CREATE TABLE location_days (location_id VARCHAR, d INTEGER, orders INTEGER, items INTEGER, net BIGINT, gross BIGINT, discounted_orders INTEGER, discounted_net BIGINT, discounted_gross BIGINT, guest_orders INTEGER, guest_net BIGINT)',
    );
    await connection.run(
      'CREATE TABLE breakdowns (location_id VARCHAR, d INTEGER, kind VARCHAR, value VARCHAR, orders INTEGER, items INTEGER, net BIGINT)',
    );
    const customerAppender = await connection.createAppender('customer_days');
    for (const customer of chain.customers) {
      for (const day of customer.days) {
        customerAppender.appendVarchar(customer.customerId);
        customerAppender.appendInteger(dayNumber(day.date));
        customerAppender.appendVarchar(day.locationId);
        customerAppender.appendInteger(day.orders);
        customerAppender.appendBigInt(BigInt(day.netCents));
        customerAppender.appendInteger(day.loyaltyOrders);
        customerAppender.endRow();
      }
    }
    customerAppender.closeSync();
    const locationAppender = await connection.createAppender('location_days');
    const breakdownAppender = await connection.createAppender('breakdowns');
    for (const day of chain.locationDays) {
      const d = dayNumber(day.date);
      locationAppender.appendVarchar(day.locationId);
      locationAppender.appendInteger(d);
      for (const value of [day.orders, day.items]) locationAppender.appendInteger(value);
      for (const value of [day.netCents, day.grossCents]) locationAppender.appendBigInt(BigInt(value));
      locationAppender.appendInteger(day.discountedOrders);
      for (const value of [day.discountedNetCents, day.discountedGrossCents]) {
        locationAppender.appendBigInt(BigInt(value));
      }
      locationAppender.appendInteger(day.guestOrders);
      locationAppender.appendBigInt(BigInt(day.guestNetCents));
      locationAppender.endRow();
      for (const [kind, breakdown] of [
        ['category', day.byCategory],
        ['hour', day.byHour],
      ] as const) {
        for (const [value, figures] of Object.entries(breakdown)) {
          breakdownAppender.appendVarchar(day.locationId);
          breakdownAppender.appendInteger(d);
          breakdownAppender.appendVarchar(kind);
          breakdownAppender.appendVarchar(value);
          breakdownAppender.appendInteger(figures.orders);
          breakdownAppender.appendInteger(figures.items);
          breakdownAppender.appendBigInt(BigInt(figures.netCents));
          breakdownAppender.endRow();
        }
      }
    }
    locationAppender.closeSync();
    breakdownAppender.closeSync();
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const asOf = dayNumber(AS_OF);
    const started = performance.now();
    await connection.run(`CREATE TEMP TABLE customer_metrics AS
      WITH c AS (
        SELECT customer_id, sum(orders) AS orders, sum(net) AS clv, sum(loyalty) > 0 AS member,
          min(d) FILTER (WHERE orders > 0) AS first_d, max(d) FILTER (WHERE orders > 0) AS last_d,
          coalesce(sum(orders) FILTER (WHERE d >= ${asOf - 179}), 0) AS frequency,
          coalesce(sum(net) FILTER (WHERE d >= ${asOf - 179}), 0) AS monetary,
          coalesce(sum(net) FILTER (WHERE d >= ${asOf - 89}), 0) AS recent,
          coalesce(sum(net) FILTER (WHERE d BETWEEN ${asOf - 179} AND ${asOf - 90}), 0) AS prior
        FROM customer_days WHERE d <= ${asOf} GROUP BY customer_id HAVING sum(orders) > 0),
      ranked AS (SELECT *, percent_rank() OVER (ORDER BY clv) AS p, ${asOf} - last_d AS recency FROM c),
      scored AS (
        SELECT customer_id,
          least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY recency DESC))) AS r,
          least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY frequency))) AS f,
          least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY monetary))) AS m
        FROM ranked WHERE frequency > 0)
      SELECT ranked.*, CASE WHEN p >= 0.8 THEN 'High' WHEN p < 0.2 THEN 'Low' ELSE 'Medium' END AS tier, r, f, m,
        CASE WHEN r IS NULL THEN 'Inactive' WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'VIP'
          WHEN r >= 4 AND f <= 2 THEN 'New Customer' WHEN r <= 2 AND f <= 2 THEN 'Churn Risk'
          WHEN f >= 4 THEN 'Loyal' WHEN r <= 2 THEN 'Lapsing' ELSE 'Regular' END AS segment,
        CASE WHEN orders > 1 THEN (last_d - first_d) / (orders - 1) END AS avg_gap,
        CASE WHEN prior <> 0 THEN round((recent - prior) * 100.0 / prior, 2) END AS change_pct,
        recency > 45 AS at_risk
      FROM ranked LEFT JOIN scored USING (customer_id) ORDER BY customer_id`);
    await connection.run(`CREATE TEMP TABLE loyalty_impact AS
      SELECT CASE WHEN member THEN 'member' ELSE 'non_member' END AS grp, count(*) AS customers, sum(orders) AS orders,
        sum(clv) AS revenue, sum(clv) / sum(orders) AS aov, sum(orders) / count(*) AS opc,
        avg((orders >= 2)::INTEGER) AS repeat_rate, avg(clv) AS avg_clv, median(clv) AS median_clv
      FROM customer_metrics GROUP BY ALL
      UNION ALL SELECT 'guest', NULL, sum(guest_orders), sum(guest_net), sum(guest_net) / sum(guest_orders),
        NULL, NULL, NULL, NULL FROM location_days WHERE d <= ${asOf}`);
    await connection.run(`CREATE TEMP TABLE sales_trends AS
      WITH days AS (
        SELECT location_id, d, 'total' AS breakdown, 'total' AS value, orders, items, net FROM location_days WHERE d <= ${asOf}
        UNION ALL SELECT location_id, d, kind, value, orders, items, net FROM breakdowns WHERE d <= ${asOf}
        UNION ALL SELECT location_id, d, 'daypart', CASE WHEN value::INTEGER BETWEEN 5 AND 10 THEN 'breakfast'
            WHEN value::INTEGER BETWEEN 11 AND 14 THEN 'lunch' WHEN value::INTEGER BETWEEN 15 AND 16 THEN 'afternoon'
            WHEN value::INTEGER BETWEEN 17 AND 20 THEN 'dinner' ELSE 'late' END, orders, items, net
          FROM breakdowns WHERE kind = 'hour' AND d <= ${asOf}),
      periods AS (
        SELECT 'day' AS grain, strftime(DATE '1970-01-01' + d, '%Y-%m-%d') AS period, * FROM days
        UNION ALL SELECT 'week', strftime(DATE '1970-01-01' + d, '%G-W%V'), * FROM days
        UNION ALL SELECT 'month', strftime(DATE '1970-01-01' + d, '%Y-%m'), * FROM days)
      SELECT grain, period, coalesce(location_id, 'ALL') AS location_id, breakdown, value,
        sum(net) AS revenue, sum(orders) AS orders, sum(items) AS items
      FROM periods GROUP BY GROUPING SETS ((grain, period, location_id, breakdown, value), (grain, period, breakdown, value))
      ORDER BY ALL`);
    await connection.run(`CREATE TEMP TABLE location_performance AS
      WITH l AS (SELECT location_id, sum(net) AS revenue, sum(orders) AS orders, count(*) FILTER (WHERE orders > 0) AS active_days,
          ${asOf} - min(d) FILTER (WHERE orders > 0) + 1 AS span,
          sum(net) FILTER (WHERE d >= ${asOf - 29}) AS revenue_30d, sum(orders) FILTER (WHERE d >= ${asOf - 29}) AS orders_30d
        FROM location_days WHERE d <= ${asOf} GROUP BY location_id),
      lc AS (SELECT location_id, count(*) AS customers, count(*) FILTER (WHERE n >= 2) AS repeaters
        FROM (SELECT customer_id, location_id, sum(orders) AS n FROM customer_days WHERE d <= ${asOf} GROUP BY ALL) GROUP BY location_id)
      SELECT l.*, rank() OVER (ORDER BY revenue DESC, location_id) AS rank, revenue / orders AS aov,
        orders / span AS per_day, 7 * orders / span AS per_week, customers, repeaters / customers AS repeat_rate
      FROM l LEFT JOIN lc USING (location_id) ORDER BY location_id`);
    await connection.run(`CREATE TEMP TABLE discount_effectiveness AS
      WITH s AS (SELECT location_id, sum(orders) o, sum(gross) g, sum(net) n, sum(discounted_orders) dor,
          sum(discounted_gross) dg, sum(discounted_net) dn FROM location_days WHERE d <= ${asOf}
        GROUP BY GROUPING SETS ((location_id), ()))
      SELECT coalesce(location_id, 'ALL') AS location_id, false AS discounted, o - dor AS orders, g - dg AS gross,
        (g - dg) - (n - dn) AS discount, n - dn AS net, (n - dn) / nullif(o - dor, 0) AS aov FROM s
      UNION ALL SELECT coalesce(location_id, 'ALL'), true, dor, dg, dg - dn, dn, dn / nullif(dor, 0) FROM s
      ORDER BY ALL`);
    await connection.run(`CREATE TEMP TABLE discount_before_after AS
      WITH f AS (SELECT location_id, min(d) FILTER (WHERE orders > 0) AS first_d,
          min(d) FILTER (WHERE discounted_orders > 0) AS disc_d FROM location_days WHERE d <= ${asOf} GROUP BY location_id),
      w AS (SELECT *, greatest(disc_d - 30, first_d) AS before_start, least(disc_d + 29, ${asOf}) AS after_end FROM f)
      SELECT w.location_id, disc_d,
        sum(orders) FILTER (WHERE ld.d >= before_start AND ld.d < disc_d) / nullif(disc_d - before_start, 0) AS opd_before,
        sum(orders) FILTER (WHERE ld.d >= disc_d AND ld.d <= after_end) / (after_end - disc_d + 1) AS opd_after,
        sum(net) FILTER (WHERE ld.d >= before_start AND ld.d < disc_d) / nullif(disc_d - before_start, 0) AS rpd_before,
        sum(net) FILTER (WHERE ld.d >= disc_d AND ld.d <= after_end) / (after_end - disc_d + 1) AS rpd_after
      FROM w JOIN location_days ld ON ld.location_id = w.location_id AND ld.d <= ${asOf}
      GROUP BY w.location_id, disc_d, before_start, after_end ORDER BY w.location_id`);
    const seconds = (performance.now() - started) / 1000;
    const high = await connection.runAndReadAll("SELECT count(*) FROM customer_metrics WHERE tier = 'High'");
    return { loadSeconds, seconds, highTier: Number(high.getRows()[0]![0]) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Runs the benchmark: tillstream's marts in a child process, then DuckDB's in this one.
 *
 * @returns seconds, peak RSS (MiB) and the DuckDB baseline.
 */
export async function benchCompact(): Promise<Record<string, number>> {
  const child = spawnSync(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', fileURLToPath(import.meta.url), '--child'],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, cwd: fileURLToPath(new URL('../../', import.meta.url)) },
  );
  if (child.status !== 0) throw new Error(`compact bench child failed (${child.status}): ${child.stderr}`);
  const measured = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildMeasure;
  const duckdb = await measureDuckdb(syntheticChain());
  return {
    customers: measured.customers,
    seconds: measured.computeSeconds,
    cpu_seconds: measured.computeCpuSeconds,
    write_seconds: measured.writeSeconds,
    peak_rss_mib: measured.computePeakRssMib,
    peak_rss_with_write_mib: measured.peakRssMib,
    input_rss_mib: measured.inputRssMib,
    customer_metrics_rows: measured.rows['customer_metrics'] ?? 0,
    sales_trends_rows: measured.rows['sales_trends'] ?? 0,
    duckdb_seconds: duckdb.seconds,
    duckdb_load_seconds: duckdb.loadSeconds,
    ratio_vs_duckdb: measured.computeSeconds / duckdb.seconds,
    clv_high_tillstream: measured.highTier,
    clv_high_duckdb: duckdb.highTier,
  };
}

export const compactBench: BenchModule = {
  name: 'compact',
  async run(): Promise<BenchReport> {
    const memory = await benchCompact();
    console.error(
      `bench compact: in memory done; the whole compaction on the embedded stack (${STACK_CUSTOMERS} customers)…`,
    );
    const stack = await measureStackCompaction(STACK_CUSTOMERS);
    const results: Record<string, number> = {
      ...memory,
      stack_customers: stack.customers,
      stack_seconds: stack.seconds,
      stack_items: stack.items,
      stack_orders: stack.orders,
      stack_load_seconds: stack.loadSeconds,
      stack_scan_seconds: stack.scanSeconds,
      stack_compute_seconds: stack.computeSeconds,
      stack_snapshot_seconds: stack.snapshotSeconds,
      stack_profiles_seconds: stack.profilesSeconds,
      stack_cpu_seconds: stack.cpuSeconds,
    };
    for (const [key, value] of Object.entries(results)) {
      if (!Number.isInteger(value)) results[key] = Number(value.toFixed(3));
    }
    const seconds = results['seconds']!;
    const peak = results['peak_rss_mib']!;
    return {
      figures: [
        {
          figure: 'seconds',
          value: seconds,
          unit: 's',
          target: `<= ${TARGET_SECONDS} (${results['customers']} customers)`,
          baseline: results['duckdb_seconds']!,
          pass: seconds <= TARGET_SECONDS,
        },
        {
          figure: 'peak_rss_mib',
          value: peak,
          unit: 'MiB',
          target: `<= ${TARGET_PEAK_RSS_MIB}`,
          baseline: null,
          pass: peak <= TARGET_PEAK_RSS_MIB,
        },
        {
          figure: 'stack_seconds',
          value: results['stack_seconds']!,
          unit: 's',
          target: '',
          baseline: null,
          pass: null,
        },
      ],
      results,
      notes: [
        `in memory: ${results['customers']} synthetic customers, ${LOCATIONS} locations x ${DAYS} days; DuckDB loads the same data through its appender (${results['duckdb_load_seconds']} s, not counted) and runs the same marts in SQL`,
        `on the stack: ${stack.customers} customers (${stack.orders} orders, ${stack.items} items) loaded in ${stack.loadSeconds.toFixed(1)} s; compaction: scan ${stack.scanSeconds.toFixed(1)} s, marts ${stack.computeSeconds.toFixed(1)} s, snapshot ${stack.snapshotSeconds.toFixed(1)} s, profiles written back ${stack.profilesSeconds.toFixed(1)} s`,
        `sizes: TILLSTREAM_BENCH_COMPACT_CUSTOMERS=${CUSTOMERS}, TILLSTREAM_BENCH_COMPACT_STACK_CUSTOMERS=${STACK_CUSTOMERS}`,
      ],
    };
  },
};

if (process.argv.includes('--child')) {
  const measured = await measureChild();
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}
