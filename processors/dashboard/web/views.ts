/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The seven views: each turns its API response into HTML (figures formatted, elements tagged with
 * `data-kpi`, `data-table`, `data-row`, `data-col` so tests and people find them) and then draws
 * its charts.
 */
import type { ShardStateItem } from '../../shard/dynamo-store.js';
import type { DiscountFigures, LocationRow, TrendsView } from '../figures.js';
import type {
  BeforeAfterRow,
  ChurnView,
  CustomerRow,
  GroupFigures,
  LoyaltyRow,
  SegmentationView,
} from '../nightly.js';
import { barChart, Unit } from './charts.js';
import {
  escapeHtml,
  formatCount,
  formatDuration,
  formatMoney,
  formatPercent,
  formatRatio,
  formatShare,
} from './format.js';

/** The filters of the page, from the URL hash. */
export interface Params {
  readonly from: string;
  readonly to: string;
  readonly location: string;
  readonly loyalty: string;
  readonly grain: string;
  readonly metric: string;
}

export interface View<Data> {
  readonly title: string;
  readonly api: string;
  /** Filters the view uses. */
  readonly filters: readonly ('range' | 'location' | 'loyalty')[];
  html(data: Data, params: Params): string;
  charts?(data: Data, params: Params): void;
}

const e = escapeHtml;

function kpi(name: string, label: string, value: string): string {
  return `<div class="kpi" data-kpi="${e(name)}"><span class="label">${e(label)}</span><span class="value">${e(value)}</span></div>`;
}

function panel(title: string, body: string, hint = ''): string {
  return `<section class="panel"><h2>${e(title)}</h2>${hint ? `<p class="hint">${e(hint)}</p>` : ''}${body}</section>`;
}

function chart(id: string, height = 260): string {
  return `<div class="chart" style="height:${height}px"><canvas id="${e(id)}"></canvas></div>`;
}

interface Column<Row> {
  readonly name: string;
  readonly title: string;
  readonly text?: boolean;
  cell(row: Row): string;
}

function table<Row>(
  name: string,
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  rowAttributes: (row: Row) => { id: string; className?: string },
): string {
  const head = columns
    .map((column) => `<th class="${column.text ? 'text' : ''}">${e(column.title)}</th>`)
    .join('');
  const body = rows
    .map((row) => {
      const { id, className } = rowAttributes(row);
      const cells = columns
        .map(
          (column) =>
            `<td data-col="${e(column.name)}" class="${column.text ? 'text' : ''}">${column.cell(row)}</td>`,
        )
        .join('');
      return `<tr data-row="${e(id)}" class="${className ?? ''}">${cells}</tr>`;
    })
    .join('');
  return `<table data-table="${e(name)}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function empty(message: string): string {
  return `<div class="empty" data-empty>${e(message)}</div>`;
}

const NO_ORDERS =
  'No orders yet. Put files in the input folder and run `tillstream poll` and `tillstream process` (or `tillstream up`): figures appear here within seconds.';
const NO_SNAPSHOT =
  'No nightly snapshot yet for this date. Segments, tiers, churn and loyalty figures come from the nightly compaction (`tillstream compact`).';

function segmented(name: string, current: string, options: readonly [string, string][]): string {
  return `<div class="segmented" data-control="${e(name)}">${options
    .map(
      ([value, label]) =>
        `<button type="button" data-value="${e(value)}" aria-pressed="${value === current}">${e(label)}</button>`,
    )
    .join('')}</div>`;
}

type TrendsData = TrendsView & { readonly empty: boolean };

const DAYS_OF_WEEK = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const trendsPage: View<TrendsData> = {
  title: 'Sales trends',
  api: '/api/trends',
  filters: ['range', 'location'],
  html(data, params) {
    if (data.empty) return empty(NO_ORDERS);
    const heatMax = Math.max(1, ...data.heatmap.flat());
    const heat = `<table class="heat" data-table="heatmap"><thead><tr><th></th>${Array.from(
      { length: 24 },
      (_, hour) => `<th>${String(hour).padStart(2, '0')}</th>`,
    ).join('')}</tr></thead><tbody>${data.heatmap
      .map(
        (row, weekday) =>
          `<tr data-row="${DAYS_OF_WEEK[weekday]}"><th>${DAYS_OF_WEEK[weekday]}</th>${row
            .map(
              (orders, hour) =>
                `<td data-col="${hour}" title="${orders} orders" style="background:rgba(47,111,219,${(orders / heatMax).toFixed(3)});color:${orders / heatMax > 0.55 ? '#fff' : 'inherit'}">${orders || ''}</td>`,
            )
            .join('')}</tr>`,
      )
      .join('')}</tbody></table>`;
    const holidays = data.holidays.length
      ? `<ul class="holidays" data-list="holidays">${data.holidays
          .map((holiday) => `<li data-date="${e(holiday.date)}">★ ${e(holiday.date)} ${e(holiday.name)}</li>`)
          .join('')}</ul>`
      : '<p class="hint">No holidays in this range.</p>';
    return [
      `<div class="kpis">${kpi('revenue', 'Net revenue', formatMoney(data.totals.revenueCents))}${kpi('orders', 'Orders', formatCount(data.totals.orders))}${kpi('items', 'Items', formatCount(data.totals.items))}${kpi('aov', 'Average order value', formatMoney(data.totals.avgOrderValueCents))}</div>`,
      panel(
        'Revenue and orders',
        `${segmented('grain', params.grain, [
          ['day', 'Day'],
          ['week', 'Week'],
          ['month', 'Month'],
        ])}${chart('trend-chart', 300)}${holidays}`,
        'Holidays are marked ★ and drawn in orange on the daily chart. Weeks (ISO, Monday start) and months are whole periods overlapping the range.',
      ),
      `<div class="grid">${panel(
        'Revenue by menu category, per week',
        chart('category-chart'),
        "Category revenue includes the line's options; an order counts once in each category it contains.",
      )}${panel(
        'Categories',
        table(
          'categories',
          [
            { name: 'category', title: 'Category', text: true, cell: (row) => e(row.category) },
            { name: 'revenue', title: 'Revenue', cell: (row) => formatMoney(row.revenueCents) },
            { name: 'orders', title: 'Orders', cell: (row) => formatCount(row.orders) },
            { name: 'items', title: 'Items', cell: (row) => formatCount(row.items) },
          ],
          data.categories,
          (row) => ({ id: row.category }),
        ),
      )}</div>`,
      panel('Orders by weekday and local hour', heat, 'Local time of each location.'),
      panel(
        'Dayparts',
        table(
          'dayparts',
          [
            { name: 'daypart', title: 'Daypart', text: true, cell: (row) => e(row.daypart) },
            { name: 'orders', title: 'Orders', cell: (row) => formatCount(row.orders) },
            { name: 'revenue', title: 'Revenue', cell: (row) => formatMoney(row.revenueCents) },
          ],
          data.dayparts,
          (row) => ({ id: row.daypart }),
        ),
        'breakfast 05–10 · lunch 11–14 · afternoon 15–16 · dinner 17–20 · late 21–04',
      ),
    ].join('');
  },
  charts(data, params) {
    if (data.empty) return;
    const periods = params.grain === 'week' ? data.weeks : params.grain === 'month' ? data.months : data.days;
    const labels = periods.map((period) =>
      'holiday' in period && period.holiday ? `★ ${period.period}` : period.period,
    );
    const colors = periods.map((period) => ('holiday' in period && period.holiday ? '#f28e2b' : '#2f6fdb'));
    barChart('trend-chart', labels, [
      { label: 'Net revenue', data: periods.map((period) => period.revenueCents), unit: Unit.Money, colors },
      { label: 'Orders', data: periods.map((period) => period.orders), unit: Unit.Count, line: true },
    ]);
    barChart(
      'category-chart',
      data.weeks.map((week) => week.period),
      data.categoryWeeks.map((category) => ({
        label: category.category,
        data: category.revenueCents,
        unit: Unit.Money,
      })),
      { stacked: true },
    );
  },
};

interface LocationsData {
  readonly empty: boolean;
  readonly locations: readonly LocationRow[];
  readonly ranked: number;
}

const LOCATION_METRICS: Record<string, { label: string; unit: Unit; value: (row: LocationRow) => number }> = {
  revenue: { label: 'Net revenue', unit: Unit.Money, value: (row) => row.revenueCents },
  aov: { label: 'Average order value', unit: Unit.Money, value: (row) => row.avgOrderValueCents ?? 0 },
  perDay: { label: 'Orders per day', unit: Unit.Ratio, value: (row) => row.ordersPerDay },
  perWeek: { label: 'Orders per week', unit: Unit.Ratio, value: (row) => row.ordersPerWeek },
};

export const locationsPage: View<LocationsData> = {
  title: 'Locations',
  api: '/api/locations',
  filters: ['range', 'location'],
  html(data, params) {
    if (data.empty) return empty(NO_ORDERS);
    if (data.locations.length === 0) return empty('No location has orders in this range.');
    const best = data.locations.find((row) => row.best);
    const worst = data.locations.find((row) => row.worst);
    const metric = LOCATION_METRICS[params.metric] ? params.metric : 'revenue';
    return [
      `<div class="kpis">${kpi('locations', 'Locations with orders', formatCount(data.ranked))}${kpi('best', 'Best (revenue)', best ? best.name : '—')}${kpi('worst', 'Worst (revenue)', worst ? worst.name : '—')}</div>`,
      panel(
        'Compare locations',
        `${segmented(
          'metric',
          metric,
          Object.entries(LOCATION_METRICS).map(([key, entry]) => [key, entry.label]),
        )}${chart('locations-chart', Math.max(220, 28 * data.locations.length))}`,
      ),
      panel(
        'Ranked by net revenue',
        table(
          'locations',
          [
            {
              name: 'rank',
              title: '#',
              cell: (row) =>
                `${row.rank}${row.best ? '<span class="badge best">best</span>' : ''}${row.worst ? '<span class="badge worst">worst</span>' : ''}`,
            },
            { name: 'name', title: 'Location', text: true, cell: (row) => e(row.name) },
            { name: 'revenue', title: 'Net revenue', cell: (row) => formatMoney(row.revenueCents) },
            { name: 'orders', title: 'Orders', cell: (row) => formatCount(row.orders) },
            { name: 'aov', title: 'Avg order value', cell: (row) => formatMoney(row.avgOrderValueCents) },
            { name: 'activeDays', title: 'Active days', cell: (row) => formatCount(row.activeDays) },
            { name: 'perDay', title: 'Orders / day', cell: (row) => formatRatio(row.ordersPerDay) },
            { name: 'perWeek', title: 'Orders / week', cell: (row) => formatRatio(row.ordersPerWeek) },
          ],
          data.locations,
          (row) => ({ id: row.locationId, className: row.best ? 'best' : row.worst ? 'worst' : '' }),
        ),
        'Orders per day and week count the calendar days from the later of the range start and the location’s first order.',
      ),
    ].join('');
  },
  charts(data, params) {
    if (data.empty || data.locations.length === 0) return;
    const metric = LOCATION_METRICS[params.metric] ?? LOCATION_METRICS['revenue']!;
    barChart(
      'locations-chart',
      data.locations.map((row) => row.name),
      [
        {
          label: metric.label,
          data: data.locations.map(metric.value),
          unit: metric.unit,
          colors: data.locations.map((row) => (row.best ? '#1f8a4c' : row.worst ? '#c0392b' : '#2f6fdb')),
        },
      ],
      { horizontal: true },
    );
  },
};

type SegmentsData = { readonly snapshotDate: string | null } & Partial<SegmentationView>;

function snapshotNote(date: string | null): string {
  return `<p class="hint" data-snapshot="${e(date ?? '')}">Nightly snapshot as of ${e(date ?? '—')}; customers are chain-wide.</p>`;
}

export const segmentsPage: View<SegmentsData> = {
  title: 'Customer segments',
  api: '/api/segments',
  filters: ['range', 'loyalty'],
  html(data) {
    if (data.snapshotDate === null || data.segments === undefined || data.tiers === undefined) {
      return empty(NO_SNAPSHOT);
    }
    type GroupRow = GroupFigures & { readonly segment?: string; readonly tier?: string };
    const total = data.customers ?? 0;
    const groupColumns = (label: string, key: 'segment' | 'tier'): Column<GroupRow>[] => [
      { name: key, title: label, text: true, cell: (row) => e(row[key] ?? '') },
      { name: 'customers', title: 'Customers', cell: (row) => formatCount(row.customers) },
      { name: 'share', title: 'Share', cell: (row) => formatShare(total ? row.customers / total : null) },
      { name: 'clv', title: 'Total CLV', cell: (row) => formatMoney(row.clvCents) },
      { name: 'avgClv', title: 'Average CLV', cell: (row) => formatMoney(row.avgClvCents) },
      { name: 'monetary', title: 'Spend, last 180 days', cell: (row) => formatMoney(row.monetary180dCents) },
    ];
    return [
      snapshotNote(data.snapshotDate),
      `<div class="kpis">${kpi('customers', 'Customers', formatCount(data.customers ?? 0))}${kpi('vip', 'VIP customers', formatCount(data.segments.find((row) => row.segment === 'VIP')?.customers ?? 0))}${kpi('high', 'High CLV tier', formatCount(data.tiers.find((row) => row.tier === 'High')?.customers ?? 0))}</div>`,
      `<div class="grid">${panel('RFM segments: customers', chart('segments-chart'))}${panel('CLV tiers: customers and value', chart('tiers-chart'))}</div>`,
      panel(
        'RFM segments',
        table('segments', groupColumns('Segment', 'segment'), data.segments, (row) => ({
          id: row.segment ?? '',
        })),
      ),
      panel(
        'CLV tiers',
        table('tiers', groupColumns('Tier', 'tier'), data.tiers, (row) => ({ id: row.tier ?? '' })),
      ),
    ].join('');
  },
  charts(data) {
    if (data.segments === undefined || data.tiers === undefined) return;
    barChart(
      'segments-chart',
      data.segments.map((row) => row.segment),
      [
        { label: 'Customers', data: data.segments.map((row) => row.customers), unit: Unit.Count },
        { label: 'Total CLV', data: data.segments.map((row) => row.clvCents), unit: Unit.Money, line: true },
      ],
    );
    barChart(
      'tiers-chart',
      data.tiers.map((row) => row.tier),
      [
        { label: 'Customers', data: data.tiers.map((row) => row.customers), unit: Unit.Count },
        { label: 'Total CLV', data: data.tiers.map((row) => row.clvCents), unit: Unit.Money, line: true },
      ],
    );
  },
};

type ChurnData = { readonly snapshotDate: string | null; readonly loyalty: string } & Partial<ChurnView>;

export const churnPage: View<ChurnData> = {
  title: 'Churn risk',
  api: '/api/churn',
  filters: ['range', 'loyalty'],
  html(data, params) {
    if (data.snapshotDate === null || data.customers === undefined) return empty(NO_SNAPSHOT);
    const change =
      data.spendPriorCents && data.spendPriorCents !== 0
        ? formatPercent((((data.spendRecentCents ?? 0) - data.spendPriorCents) / data.spendPriorCents) * 100)
        : '—';
    const query = new URLSearchParams({ to: params.to, loyalty: params.loyalty });
    return [
      snapshotNote(data.snapshotDate),
      `<div class="kpis">${kpi('customers', 'Customers', formatCount(data.customers))}${kpi('atRisk', 'At risk (> 45 days)', formatCount(data.atRisk ?? 0))}${kpi('atRiskShare', 'Share at risk', formatShare(data.customers ? (data.atRisk ?? 0) / data.customers : null))}${kpi('spendRecent', 'Spend, last 90 days', formatMoney(data.spendRecentCents ?? 0))}${kpi('spendPrior', 'Spend, 90 days before', formatMoney(data.spendPriorCents ?? 0))}${kpi('spendChange', 'Spend change', change)}</div>`,
      `<div class="grid">${panel('Days since last order', chart('recency-chart'))}${panel('Average gap between orders (days)', chart('gap-chart'))}</div>`,
      panel(
        'Spend change: last 3 × 30 days vs the 3 before',
        chart('spend-chart', 220),
        'Customers by the change of their spend.',
      ),
      panel(
        'At-risk customers (highest CLV first)',
        `<a class="download" data-download="at-risk" href="/api/churn/at-risk.csv?${e(query.toString())}" download>Download the re-engagement list (CSV, all ${formatCount(data.atRisk ?? 0)})</a>${table(
          'at-risk',
          [
            {
              name: 'customer',
              title: 'Customer',
              text: true,
              cell: (row: CustomerRow) => e(row.customerId),
            },
            {
              name: 'member',
              title: 'Loyalty',
              text: true,
              cell: (row: CustomerRow) => (row.loyaltyMember ? 'member' : 'non-member'),
            },
            { name: 'last', title: 'Last order', cell: (row: CustomerRow) => e(row.lastOrderDate) },
            { name: 'days', title: 'Days since', cell: (row: CustomerRow) => formatCount(row.recencyDays) },
            { name: 'orders', title: 'Orders', cell: (row: CustomerRow) => formatCount(row.orders) },
            { name: 'clv', title: 'CLV', cell: (row: CustomerRow) => formatMoney(row.clvCents) },
            {
              name: 'gap',
              title: 'Avg gap (days)',
              cell: (row: CustomerRow) => formatRatio(row.avgGapDays, 1),
            },
            {
              name: 'change',
              title: 'Spend change',
              cell: (row: CustomerRow) => formatPercent(row.spendChangePct),
            },
          ],
          data.atRiskTop ?? [],
          (row) => ({ id: row.customerId }),
        )}`,
      ),
    ].join('');
  },
  charts(data) {
    if (data.recency === undefined || data.averageGap === undefined || data.spendChange === undefined) return;
    const histogram = (id: string, buckets: readonly { label: string; customers: number }[]) =>
      barChart(
        id,
        buckets.map((bucket) => bucket.label),
        [
          {
            label: 'Customers',
            data: buckets.map((bucket) => bucket.customers),
            unit: Unit.Count,
            colors: buckets.map((bucket) => (/^(46|61|91|181)/.test(bucket.label) ? '#c0392b' : '#2f6fdb')),
          },
        ],
      );
    histogram('recency-chart', data.recency);
    histogram('gap-chart', data.averageGap);
    histogram('spend-chart', data.spendChange);
  },
};

interface LoyaltyData {
  readonly snapshotDate: string | null;
  readonly groups?: readonly LoyaltyRow[];
}

const GROUP_LABEL: Record<string, string> = { member: 'Members', non_member: 'Non-members', guest: 'Guests' };

export const loyaltyPage: View<LoyaltyData> = {
  title: 'Loyalty impact',
  api: '/api/loyalty',
  filters: ['range'],
  html(data) {
    if (data.snapshotDate === null || data.groups === undefined) return empty(NO_SNAPSHOT);
    const member = data.groups.find((row) => row.group === 'member');
    const nonMember = data.groups.find((row) => row.group === 'non_member');
    const lift =
      member?.avgOrderValueCents != null && nonMember?.avgOrderValueCents
        ? formatPercent(
            ((member.avgOrderValueCents - nonMember.avgOrderValueCents) / nonMember.avgOrderValueCents) * 100,
          )
        : '—';
    return [
      `<p class="hint" data-snapshot="${e(data.snapshotDate)}">Nightly snapshot as of ${e(data.snapshotDate)}. Guests have no customer figures.</p>`,
      `<div class="kpis">${kpi('memberAov', 'Member AOV', formatMoney(member?.avgOrderValueCents))}${kpi('nonMemberAov', 'Non-member AOV', formatMoney(nonMember?.avgOrderValueCents))}${kpi('aovLift', 'Member AOV vs non-member', lift)}</div>`,
      `<div class="grid">${panel('Average order value', chart('aov-chart', 220))}${panel('Repeat rate', chart('repeat-chart', 220))}</div>`,
      panel('Average and median CLV', chart('clv-chart', 220)),
      panel(
        'Members vs non-members vs guests',
        table(
          'loyalty',
          [
            {
              name: 'group',
              title: 'Group',
              text: true,
              cell: (row) => e(GROUP_LABEL[row.group] ?? row.group),
            },
            { name: 'customers', title: 'Customers', cell: (row) => formatCount(row.customers) },
            { name: 'orders', title: 'Orders', cell: (row) => formatCount(row.orders) },
            { name: 'revenue', title: 'Net revenue', cell: (row) => formatMoney(row.revenueCents) },
            { name: 'aov', title: 'Avg order value', cell: (row) => formatMoney(row.avgOrderValueCents) },
            {
              name: 'perCustomer',
              title: 'Orders / customer',
              cell: (row) => formatRatio(row.ordersPerCustomer),
            },
            { name: 'repeat', title: 'Repeat rate', cell: (row) => formatShare(row.repeatRate) },
            { name: 'avgClv', title: 'Average CLV', cell: (row) => formatMoney(row.avgClvCents) },
            { name: 'medianClv', title: 'Median CLV', cell: (row) => formatMoney(row.medianClvCents) },
          ],
          data.groups,
          (row) => ({ id: row.group }),
        ),
      ),
    ].join('');
  },
  charts(data) {
    if (data.groups === undefined) return;
    const labels = data.groups.map((row) => GROUP_LABEL[row.group] ?? row.group);
    barChart('aov-chart', labels, [
      { label: 'AOV', data: data.groups.map((row) => row.avgOrderValueCents ?? 0), unit: Unit.Money },
    ]);
    barChart('repeat-chart', labels, [
      { label: 'Repeat rate', data: data.groups.map((row) => row.repeatRate ?? 0), unit: Unit.Share },
    ]);
    barChart('clv-chart', labels, [
      { label: 'Average CLV', data: data.groups.map((row) => row.avgClvCents ?? 0), unit: Unit.Money },
      { label: 'Median CLV', data: data.groups.map((row) => row.medianClvCents ?? 0), unit: Unit.Money },
    ]);
  },
};

interface DiscountsData {
  readonly empty: boolean;
  readonly totals: { readonly discounted: DiscountFigures; readonly fullPrice: DiscountFigures };
  readonly days: readonly {
    date: string;
    discountedOrders: number;
    fullPriceOrders: number;
    grossCents: number;
    netCents: number;
    discountCents: number;
  }[];
  readonly byLocation: readonly {
    locationId: string;
    name: string;
    discounted: DiscountFigures;
    fullPrice: DiscountFigures;
  }[];
  readonly snapshotDate: string | null;
  readonly beforeAfter: readonly (BeforeAfterRow & { name: string })[] | null;
}

export const discountsPage: View<DiscountsData> = {
  title: 'Pricing & discounts',
  api: '/api/discounts',
  filters: ['range', 'location'],
  html(data) {
    if (data.empty) return empty(NO_ORDERS);
    const { discounted, fullPrice } = data.totals;
    const orders = discounted.orders + fullPrice.orders;
    const splitRows = [
      { id: 'discounted', label: 'Discounted', figures: discounted },
      { id: 'full_price', label: 'Full price', figures: fullPrice },
    ];
    const figureColumns = [
      { name: 'orders', title: 'Orders', cell: (figures: DiscountFigures) => formatCount(figures.orders) },
      {
        name: 'gross',
        title: 'Gross revenue',
        cell: (figures: DiscountFigures) => formatMoney(figures.grossCents),
      },
      {
        name: 'discount',
        title: 'Discount',
        cell: (figures: DiscountFigures) => formatMoney(figures.discountCents),
      },
      {
        name: 'net',
        title: 'Net revenue',
        cell: (figures: DiscountFigures) => formatMoney(figures.netCents),
      },
      {
        name: 'aov',
        title: 'Avg order value',
        cell: (figures: DiscountFigures) => formatMoney(figures.avgOrderValueCents),
      },
    ];
    const beforeAfter =
      data.beforeAfter === null
        ? empty(NO_SNAPSHOT)
        : `${snapshotNote(data.snapshotDate).replace('; customers are chain-wide', '')}${table(
            'before-after',
            [
              { name: 'name', title: 'Location', text: true, cell: (row) => e(row.name) },
              { name: 'first', title: 'First discount', cell: (row) => e(row.firstDiscountDate ?? '—') },
              {
                name: 'perDayBefore',
                title: 'Orders / day before',
                cell: (row) => formatRatio(row.ordersPerDayBefore),
              },
              {
                name: 'perDayAfter',
                title: 'Orders / day after',
                cell: (row) => formatRatio(row.ordersPerDayAfter),
              },
              {
                name: 'revenueBefore',
                title: 'Revenue / day before',
                cell: (row) => formatMoney(row.revenuePerDayBeforeCents),
              },
              {
                name: 'revenueAfter',
                title: 'Revenue / day after',
                cell: (row) => formatMoney(row.revenuePerDayAfterCents),
              },
            ],
            data.beforeAfter,
            (row) => ({ id: row.locationId }),
          )}`;
    return [
      `<div class="kpis">${kpi('discountedOrders', 'Discounted orders', formatCount(discounted.orders))}${kpi('discountedShare', 'Share discounted', formatShare(orders ? discounted.orders / orders : null))}${kpi('discount', 'Discounts given', formatMoney(discounted.discountCents))}${kpi('gross', 'Gross revenue', formatMoney(discounted.grossCents + fullPrice.grossCents))}${kpi('net', 'Net revenue', formatMoney(discounted.netCents + fullPrice.netCents))}</div>`,
      `<div class="grid">${panel('Orders per day: discounted vs full price', chart('discount-days-chart'))}${panel(
        'Gross vs net revenue per day',
        chart('gross-net-chart'),
      )}</div>`,
      panel(
        'Discounted vs full-price orders',
        table(
          'discount-split',
          [
            { name: 'kind', title: '', text: true, cell: (row) => e(row.label) },
            ...figureColumns.map((column) => ({
              ...column,
              cell: (row: (typeof splitRows)[number]) => column.cell(row.figures),
            })),
          ],
          splitRows,
          (row) => ({ id: row.id }),
        ),
      ),
      panel(
        'By location',
        table(
          'discount-locations',
          [
            { name: 'name', title: 'Location', text: true, cell: (row) => e(row.name) },
            {
              name: 'discountedOrders',
              title: 'Discounted orders',
              cell: (row) => formatCount(row.discounted.orders),
            },
            {
              name: 'fullPriceOrders',
              title: 'Full-price orders',
              cell: (row) => formatCount(row.fullPrice.orders),
            },
            { name: 'discount', title: 'Discount', cell: (row) => formatMoney(row.discounted.discountCents) },
            {
              name: 'discountedAov',
              title: 'AOV discounted',
              cell: (row) => formatMoney(row.discounted.avgOrderValueCents),
            },
            {
              name: 'fullPriceAov',
              title: 'AOV full price',
              cell: (row) => formatMoney(row.fullPrice.avgOrderValueCents),
            },
          ],
          data.byLocation,
          (row) => ({ id: row.locationId }),
        ),
      ),
      panel(
        'Before and after the first discount',
        beforeAfter,
        'Per day over the 30 days before the first discounted order and the 30 days from it.',
      ),
    ].join('');
  },
  charts(data) {
    if (data.empty) return;
    const labels = data.days.map((day) => day.date);
    barChart(
      'discount-days-chart',
      labels,
      [
        { label: 'Discounted', data: data.days.map((day) => day.discountedOrders), unit: Unit.Count },
        { label: 'Full price', data: data.days.map((day) => day.fullPriceOrders), unit: Unit.Count },
      ],
      { stacked: true },
    );
    barChart('gross-net-chart', labels, [
      { label: 'Gross', data: data.days.map((day) => day.grossCents), unit: Unit.Money },
      { label: 'Net', data: data.days.map((day) => day.netCents), unit: Unit.Money },
    ]);
  },
};

interface OpsData {
  readonly now: number;
  readonly shards: readonly ShardStateItem[];
  readonly poisonRecords: number;
  readonly quarantinedRows: number;
  readonly filesSetAside: number;
  readonly files: readonly {
    path: string;
    status: string;
    arrivedAt: string;
    rowsRead: number;
    rowsAccepted: number;
    rowsDuplicate: number;
    rowsExcluded: number;
    rowsQuarantined: number;
    rowsPending: number;
    quarantinedByReason: Readonly<Record<string, number>>;
  }[];
  readonly snapshot: {
    snapshotDate: string;
    runId: string;
    codeVersion: string;
    rowCounts: Readonly<Record<string, number>>;
  } | null;
}

/** Files listed in the ops view at most. */
const FILES_SHOWN = 25;

/** A shard further behind than this is flagged. */
const BEHIND_MS = 60_000;

export const opsPage: View<OpsData> = {
  title: 'Ops',
  api: '/api/ops',
  filters: [],
  html(data) {
    const open = data.shards.filter((shard) => !shard.done);
    const maxLag = open.reduce((max, shard) => Math.max(max, shard.lagMs ?? 0), 0);
    const throughput = open.reduce((sum, shard) => sum + (shard.recordsPerSecond ?? 0), 0);
    const ago = (at: number | undefined) => (at === undefined ? '—' : `${formatDuration(data.now - at)} ago`);
    const shards = open.length
      ? table(
          'shards',
          [
            { name: 'shard', title: 'Shard', text: true, cell: (row) => e(row.shardId) },
            {
              name: 'state',
              title: 'State',
              text: true,
              cell: (row) =>
                row.error !== undefined
                  ? `<span class="badge behind" title="${e(row.error)}">failing</span>`
                  : (row.lagMs ?? 0) > BEHIND_MS
                    ? '<span class="badge behind">behind</span>'
                    : '<span class="badge ok">ok</span>',
            },
            { name: 'lag', title: 'Lag', cell: (row) => formatDuration(row.lagMs) },
            { name: 'records', title: 'Records / s', cell: (row) => formatCount(row.recordsPerSecond ?? 0) },
            { name: 'orders', title: 'Orders / s', cell: (row) => formatCount(row.ordersPerSecond ?? 0) },
            {
              name: 'checkpoint',
              title: 'Last checkpoint',
              cell: (row) => (row.checkpoint === undefined ? '—' : `…${e(row.checkpoint.slice(-12))}`),
            },
            { name: 'checkpointAt', title: 'Checkpointed', cell: (row) => ago(row.checkpointAt) },
            { name: 'updated', title: 'Status updated', cell: (row) => ago(row.updatedAt) },
          ],
          open,
          (row) => ({ id: row.shardId }),
        )
      : empty('No shard has been processed yet (`tillstream process`).');
    const hasIssue = (file: OpsData['files'][number]) =>
      file.rowsQuarantined > 0 ||
      file.rowsPending > 0 ||
      (file.status !== 'ingested' && file.status !== 'duplicate_content');
    // Files that need a look first, then the newest; the rest are counted, not listed.
    const shown = [...data.files.filter(hasIssue), ...data.files.filter((file) => !hasIssue(file))].slice(
      0,
      FILES_SHOWN,
    );
    const files = data.files.length
      ? table(
          'files',
          [
            { name: 'path', title: 'File', text: true, cell: (row) => e(row.path) },
            { name: 'status', title: 'Status', text: true, cell: (row) => e(row.status) },
            { name: 'read', title: 'Rows read', cell: (row) => formatCount(row.rowsRead) },
            { name: 'accepted', title: 'Accepted', cell: (row) => formatCount(row.rowsAccepted) },
            { name: 'duplicate', title: 'Duplicate', cell: (row) => formatCount(row.rowsDuplicate) },
            { name: 'excluded', title: 'Excluded', cell: (row) => formatCount(row.rowsExcluded) },
            { name: 'quarantined', title: 'Quarantined', cell: (row) => formatCount(row.rowsQuarantined) },
            {
              name: 'reasons',
              title: 'Reasons',
              text: true,
              cell: (row) =>
                e(
                  Object.entries(row.quarantinedByReason)
                    .map(([reason, count]) => `${reason} ${count}`)
                    .join(', '),
                ),
            },
            { name: 'pending', title: 'Pending', cell: (row) => formatCount(row.rowsPending) },
          ],
          shown,
          (row) => ({ id: row.path }),
        ) +
        (data.files.length > shown.length
          ? `<p class="more" data-more-files>${formatCount(data.files.length - shown.length)} older files not listed (files with quarantined or pending rows always come first).</p>`
          : '')
      : empty('No file ingested yet (`tillstream poll`).');
    const snapshot = data.snapshot
      ? table(
          'snapshot',
          [
            { name: 'mart', title: 'Mart', text: true, cell: (row: [string, number]) => e(row[0]) },
            { name: 'rows', title: 'Rows', cell: (row: [string, number]) => formatCount(row[1]) },
          ],
          Object.entries(data.snapshot.rowCounts),
          (row) => ({ id: row[0] }),
        )
      : empty('No nightly snapshot yet (`tillstream compact`).');
    return [
      `<div class="kpis">${kpi('shards', 'Open shards', formatCount(open.length))}${kpi('maxLag', 'Max shard lag', formatDuration(maxLag))}${kpi('throughput', 'Records / s', formatCount(throughput))}${kpi('poison', 'Poison records', formatCount(data.poisonRecords))}${kpi('quarantined', 'Quarantined rows', formatCount(data.quarantinedRows))}${kpi('snapshot', 'Last snapshot', data.snapshot?.snapshotDate ?? '—')}</div>`,
      panel(
        'Shards',
        `${open.length ? chart('lag-chart', 180) : ''}${shards}`,
        'Lag is MillisBehindLatest of the last GetRecords.',
      ),
      panel(
        'Files: quarantine counts',
        files,
        'Files with quarantined or pending rows first, then the newest; rows read = accepted + duplicate + excluded + quarantined + pending.',
      ),
      panel(
        'Last nightly snapshot',
        `${data.snapshot ? `<p class="hint">as of ${e(data.snapshot.snapshotDate)} · run ${e(data.snapshot.runId)} · code ${e(data.snapshot.codeVersion)}</p>` : ''}${snapshot}`,
      ),
    ].join('');
  },
  charts(data) {
    const open = data.shards.filter((shard) => !shard.done);
    if (open.length === 0) return;
    barChart(
      'lag-chart',
      open.map((shard) => shard.shardId),
      [
        { label: 'Lag (ms)', data: open.map((shard) => shard.lagMs ?? 0), unit: Unit.Count },
        {
          label: 'Records / s',
          data: open.map((shard) => shard.recordsPerSecond ?? 0),
          unit: Unit.Count,
          line: true,
        },
      ],
    );
  },
};

/** The views by route, in navigation order. */
export const views = {
  trends: trendsPage,
  locations: locationsPage,
  segments: segmentsPage,
  churn: churnPage,
  loyalty: loyaltyPage,
  discounts: discountsPage,
  ops: opsPage,
} as const;
export type ViewName = keyof typeof views;
