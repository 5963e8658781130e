/**
 * The DuckDB recomputation on a hand-built folder whose every figure was worked out by hand from
 * CONTRACT.md §1–§3 (the comments give the arithmetic).
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareMart,
  type MartTable,
  parseMartCsv,
  type Recomputation,
  recogniseHeader,
  recomputeMarts,
} from '../../../processors/reconcile/index.js';

const settings = {
  currency: 'USD',
  testAppPattern: 'DEVELOPMENT',
  defaultTimeZone: 'America/New_York',
  futureToleranceMs: 86_400_000,
  orphanGraceDays: 7,
} as const;

const ITEMS_HEADER =
  'order_id,LineItem_Id,App_Name,RESTAURANT_ID,CREATION_TIME_UTC,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';

/** One line item row in ITEMS_HEADER's column order. */
function line(
  order: string,
  lineItem: string,
  location: string,
  created: string,
  user: string,
  loyalty: string,
  category: string,
  price: string,
  quantity: string,
  extra: { app?: string; currency?: string; name?: string } = {},
): string {
  const name = extra.name ?? 'Item';
  const quoted = /[",\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
  return [
    order,
    lineItem,
    extra.app ?? 'TillStream iOS',
    location,
    created,
    user,
    '',
    loyalty,
    extra.currency ?? 'USD',
    category,
    quoted,
    price,
    quantity,
  ].join(',');
}

async function writeAt(file: string, text: string, modifiedMs: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await utimes(file, modifiedMs / 1000, modifiedMs / 1000);
}

function rowOf(mart: MartTable, key: readonly string[]): Record<string, string> | undefined {
  const positions = mart.keyColumns.map((column) => mart.columns.indexOf(column));
  const row = mart.rows.find((cells) => positions.every((position, index) => cells[position] === key[index]));
  return row && Object.fromEntries(mart.columns.map((column, index) => [column, row[index]!]));
}

describe('recomputeMarts', () => {
  let folder: string;
  let result: Recomputation;
  const base = Date.parse('2023-03-16T06:00:00Z');

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'reconcile-unit-'));
    // Named so that nothing but the header tells the kinds apart; CRLF and a BOM on one file.
    await writeAt(
      path.join(folder, 'ref', 'zones.txt'),
      '\uFEFFRESTAURANT_ID,NAME,TIMEZONE\r\nL1,Chicago,America/Chicago\r\n-L3,Moon,Mars/Base\r\n',
      base - 10_000,
    );
    await writeAt(
      path.join(folder, 'ref', 'calendar.csv'),
      'date_key,is_holiday,holiday_name\n14-03-2023,TRUE,Pi Day\n13-03-2023,FALSE,\n',
      base - 10_000,
    );
    await writeAt(path.join(folder, 'notes.md'), '# not an export\nsome text\n', base - 10_000);
    await writeAt(path.join(folder, '.hidden.csv'), `${ITEMS_HEADER}\n`, base - 10_000);
    const items = [
      ITEMS_HEADER,
      // O1 at L1 (Chicago, CDT since 2023-03-12): 04:30Z is 2023-03-14 23:30 local, hour 23 (late).
      line('O1', 'A', 'L1', '2023-03-15T04:30:00Z', 'U1', 'TRUE', 'Burgers', '10.00', '1', {
        name: 'Burger, "big"',
      }),
      // No offset = UTC; empty IS_LOYALTY = false; empty category = Uncategorized; lower-case currency.
      line('O1', 'B', 'L1', '2023-03-15T05:30:00', 'U1', '', '', '2.5', '2', { currency: 'usd' }),
      // Identical after normalisation: a duplicate.
      line('O1', 'B', 'L1', '2023-03-15T05:30:00.000Z', 'U1', 'FALSE', '', '2.50', '2', { currency: 'USD' }),
      // Same identity, another price: a conflicting duplicate; the first wins.
      line('O1', 'B', 'L1', '2023-03-15T05:30:00Z', 'U1', 'FALSE', '', '3.00', '2'),
      // A later line at another location and customer: the order keeps its earliest line's.
      line('O1', 'C', 'L2', '2023-03-15T06:00:00Z', 'U9', 'FALSE', 'Burgers', '1.00', '1'),
      line('O2', 'A', 'L1', '2023-03-15T12:00:00Z', 'U7', 'FALSE', 'Drinks', '1.00', '1.5'),
      line('O3', 'A', 'L1', '2023-03-15', 'U7', 'FALSE', 'Drinks', '1.00', '1'),
      line('O4', 'A', 'L1', '2023-03-15T12:00:00Z', 'U7', 'FALSE', 'Drinks', '1.00', '1', {
        currency: 'EUR',
      }),
      line('O5', 'A', 'L1', '2023-03-15T12:00:00Z', 'U7', 'FALSE', 'Drinks', '1.00', '1', { currency: '' }),
      line('O6', 'A', 'L1', '2023-03-15T12:00:00Z', 'U7', 'FALSE', 'Drinks', '1.00', '1', {
        app: 'Kiosk (development)',
      }),
      // L2 has no zone: New York. 10:00Z is 05:00 EST (breakfast) on 2023-03-01.
      line('O7', 'A', 'L2', '2023-03-01T12:00:00+02:00', 'U2', 'TRUE', '=cmd', '4.00', '1'),
      line('O8', 'A', 'L2', '2023-03-10T18:00:00Z', 'U2', 'FALSE', 'Drinks', '1.99', '1'),
      // A guest at -L3 (unknown zone: New York), $0.
      line('O9', 'A', '-L3', '2023-03-15T16:00:00Z', '', 'TRUE', 'Drinks', '0.00', '1'),
      // After as_of in Chicago (2023-03-16 07:00 local).
      line('O10', 'A', 'L1', '2023-03-16T12:00:00Z', 'U3', 'FALSE', 'Drinks', '9.00', '1'),
      line('O11', 'A', 'L1', '2023-03-13T15:00:00Z', 'U4', 'FALSE', 'Salads', '5.00', '1'),
      line('O12', 'A', 'L1', '2022-11-20T18:00:00Z', 'U4', 'FALSE', 'Salads', '3.00', '1'),
      line('O13', 'A', 'L2', '2022-08-01T16:00:00Z', 'U5', '0', 'Salads', '7.00', '1'),
      // A wrong field count.
      'O14,A,TillStream iOS,L1,2023-03-15T12:00:00Z',
    ];
    await writeAt(path.join(folder, 'day', 'export-1.txt'), `${items.join('\n')}\n`, base);
    const options = [
      OPTIONS_HEADER,
      'O1,A,Size,Large,1.50,1',
      'O1,A,Promo,Coupon,-2.00,1',
      'O1,A,Size,Large,1.5,1',
      'O8,A,Extra,Ice,0.25,2',
      'O99,X,Size,Large,1.00,1',
      'O2,A,Size,Large,1.00,1',
    ];
    await writeAt(path.join(folder, 'day', 'export-2.csv'), `${options.join('\n')}\n`, base + 1000);
    result = await recomputeMarts({ inputDir: folder, asOf: '2023-03-15', settings });
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('accounts for every row with the contract reasons and skips what is not an export', () => {
    expect(result.summary.rowOutcomes).toEqual({
      order_items: {
        accepted: 10,
        duplicate: 1,
        conflicting_duplicate: 1,
        bad_quantity: 1,
        bad_timestamp: 1,
        wrong_currency: 1,
        missing_field: 1,
        excluded: 1,
        malformed_row: 1,
      },
      order_item_options: { accepted: 3, duplicate: 1, orphan_option: 2 },
    });
    expect(result.summary.skippedFiles.map((file) => file.path)).toEqual(['notes.md']);
    // O1, O7–O13 (O10 is after as_of but still an order).
    expect(result.summary.orders).toBe(8);
  });

  it('computes customer metrics: CLV tiers, RFM scores and segments, churn indicators', () => {
    const mart = result.marts.customer_metrics;
    expect(mart.rows.map((row) => row[0])).toEqual(['U1', 'U2', 'U4', 'U5']);
    // O1 = A 10.00 + 1.50 − 2.00, B 2 × 2.50, C 1.00 = 15.50; CLVs 649 < 700 < 800 < 1550: p = 0, 1/3, 2/3, 1.
    expect(rowOf(mart, ['U1'])).toMatchObject({
      loyalty_member: 'true',
      first_order_date: '2023-03-14',
      orders: '1',
      clv: '15.50',
      clv_percentile: '1.000000',
      clv_tier: 'High',
      recency_days: '1',
      r_score: '5',
      f_score: '1',
      m_score: '5',
      rfm_segment: 'New Customer',
      avg_gap_days: '',
    });
    expect(rowOf(mart, ['U2'])).toMatchObject({
      loyalty_member: 'true',
      clv: '6.49',
      clv_percentile: '0.000000',
      clv_tier: 'Low',
      r_score: '1',
      f_score: '3',
      m_score: '1',
      rfm_segment: 'Lapsing',
      avg_gap_days: '9.000000',
    });
    // Spend 5.00 in the last 90 days against 3.00 before: +66.666…% → 66.67.
    expect(rowOf(mart, ['U4'])).toMatchObject({
      loyalty_member: 'false',
      clv: '8.00',
      clv_percentile: '0.666667',
      clv_tier: 'Medium',
      rfm_segment: 'Regular',
      avg_gap_days: '113.000000',
      spend_recent_90d: '5.00',
      spend_prior_90d: '3.00',
      spend_change_pct: '66.67',
      at_risk: 'false',
    });
    // Last order 226 days before as_of: outside the RFM window, at risk.
    expect(rowOf(mart, ['U5'])).toMatchObject({
      clv_percentile: '0.333333',
      clv_tier: 'Medium',
      recency_days: '226',
      frequency_180d: '0',
      monetary_180d: '0.00',
      r_score: '',
      rfm_segment: 'Inactive',
      spend_change_pct: '',
      at_risk: 'true',
    });
  });

  it('computes loyalty impact with even-count medians rounded half away from zero', () => {
    const mart = result.marts.loyalty_impact;
    expect(mart.rows).toEqual([
      ['guest', '', '1', '0.00', '0.00', '', '', '', ''],
      // 21.99 over 2 customers = 10.995 → 11.00; median (6.49 + 15.50) / 2 = 10.995 → 11.00.
      ['member', '2', '3', '21.99', '7.33', '1.500000', '0.500000', '11.00', '11.00'],
      ['non_member', '2', '3', '15.00', '5.00', '1.500000', '0.500000', '7.50', '7.50'],
    ]);
  });

  it('computes location performance, ranks and the formula-injection guard', () => {
    const mart = result.marts.location_performance;
    expect(mart.rows).toEqual([
      ["'-L3", '3', '0.00', '1', '0.00', '1', '1.000000', '7.000000', '0.00', '1', '0', ''],
      // Span 2022-11-20 … 2023-03-15 = 116 days: 3/116 and 21/116.
      ['L1', '1', '23.50', '3', '7.83', '3', '0.025862', '0.181034', '20.50', '2', '2', '0.500000'],
      ['L2', '2', '13.49', '3', '4.50', '3', '0.013216', '0.092511', '6.49', '2', '2', '0.500000'],
    ]);
  });

  it('computes discount effectiveness and the before/after windows', () => {
    expect(result.marts.discount_effectiveness.rows).toEqual([
      ["'-L3", 'false', '1', '0.00', '0.00', '0.00', '0.00'],
      ["'-L3", 'true', '0', '0.00', '0.00', '0.00', ''],
      ['ALL', 'false', '6', '21.49', '0.00', '21.49', '3.58'],
      ['ALL', 'true', '1', '17.50', '2.00', '15.50', '15.50'],
      ['L1', 'false', '2', '8.00', '0.00', '8.00', '4.00'],
      ['L1', 'true', '1', '17.50', '2.00', '15.50', '15.50'],
      ['L2', 'false', '3', '13.49', '0.00', '13.49', '4.50'],
      ['L2', 'true', '0', '0.00', '0.00', '0.00', ''],
    ]);
    // L1: first discount 2023-03-14; before 02-12 … 03-13 (30 days, one order of 5.00); after 03-14 … 03-15.
    expect(result.marts.discount_before_after.rows).toEqual([
      ["'-L3", '', '', '', '', ''],
      ['L1', '2023-03-14', '0.033333', '0.500000', '0.17', '7.75'],
      ['L2', '', '', '', '', ''],
    ]);
  });

  it('computes sales trends by day, ISO week and month, with categories, hours, dayparts and holidays', () => {
    const mart = result.marts.sales_trends;
    const cells = (key: readonly string[]) => {
      const row = rowOf(mart, key);
      return row && [row.revenue, row.orders, row.items, row.is_holiday, row.holiday_name];
    };
    expect(cells(['day', '2023-03-14', 'L1', 'total', 'total'])).toEqual([
      '15.50',
      '1',
      '4',
      'true',
      'Pi Day',
    ]);
    expect(cells(['day', '2023-03-14', 'L1', 'category', 'Burgers'])).toEqual([
      '10.50',
      '1',
      '2',
      'true',
      'Pi Day',
    ]);
    expect(cells(['day', '2023-03-14', 'L1', 'category', 'Uncategorized'])).toEqual([
      '5.00',
      '1',
      '2',
      'true',
      'Pi Day',
    ]);
    expect(cells(['day', '2023-03-14', 'L1', 'hour', '23'])).toEqual(['15.50', '1', '4', 'true', 'Pi Day']);
    expect(cells(['day', '2023-03-14', 'L1', 'daypart', 'late'])).toEqual([
      '15.50',
      '1',
      '4',
      'true',
      'Pi Day',
    ]);
    expect(cells(['day', '2023-03-13', 'L1', 'daypart', 'breakfast'])).toEqual([
      '5.00',
      '1',
      '1',
      'false',
      '',
    ]);
    expect(cells(['day', '2023-03-01', 'L2', 'category', "'=cmd"])).toEqual(['4.00', '1', '1', 'false', '']);
    expect(cells(['day', '2023-03-01', 'L2', 'hour', '05'])).toEqual(['4.00', '1', '1', 'false', '']);
    expect(cells(['week', '2023-W11', 'L1', 'total', 'total'])).toEqual(['20.50', '2', '5', '', '']);
    expect(cells(['week', '2022-W46', 'L1', 'total', 'total'])).toEqual(['3.00', '1', '1', '', '']);
    expect(cells(['month', '2023-03', 'ALL', 'total', 'total'])).toEqual(['26.99', '5', '8', '', '']);
    expect(mart.rows.some((row) => row[1] === '2023-03-16')).toBe(false);
    // Key order: grain, period, location (bytes: '-L3' < 'ALL' < 'L1'), breakdown, value.
    const keys = mart.rows.map((row) => [row[0], row[1]]);
    expect(keys[0]).toEqual(['day', '2022-08-01']);
    expect(keys.at(-1)).toEqual(['week', '2023-W11']);
  });

  it('takes files in arrival order: modified time first, then path', async () => {
    // Prepare: 'a.csv' sorts first by path but arrived later, so 'z.csv' wins the identity.
    const ordered = await mkdtemp(path.join(tmpdir(), 'reconcile-order-'));
    try {
      await writeAt(
        path.join(ordered, 'a.csv'),
        `${ITEMS_HEADER}\n${line('O1', 'A', 'L1', '2023-03-10T12:00:00Z', '', 'FALSE', 'X', '1.00', '1')}\n`,
        base + 5000,
      );
      await writeAt(
        path.join(ordered, 'z.csv'),
        `${ITEMS_HEADER}\n${line('O1', 'A', 'L1', '2023-03-10T12:00:00Z', '', 'FALSE', 'X', '2.00', '1')}\n`,
        base,
      );

      // Act
      const { marts, summary } = await recomputeMarts({ inputDir: ordered, asOf: '2023-03-15', settings });

      // Assess
      expect(marts.loyalty_impact.rows[0]).toEqual(['guest', '', '1', '2.00', '2.00', '', '', '', '']);
      expect(summary.rowOutcomes.order_items).toEqual({ accepted: 1, conflicting_duplicate: 1 });
    } finally {
      await rm(ordered, { recursive: true, force: true });
    }
  });
});

describe('recomputeMarts over a list of files', () => {
  it('takes the list as the arrival order, and its instants as the arrival instants', async () => {
    // Prepare: the raw layer's copies have meaningless modified times; the list says 'b' arrived first.
    const folder = await mkdtemp(path.join(tmpdir(), 'reconcile-list-'));
    try {
      const arrivedMs = Date.parse('2023-03-10T13:00:00Z');
      const write = async (name: string, price: string, created: string) => {
        const file = path.join(folder, name);
        await writeFile(
          file,
          `${ITEMS_HEADER}\n${line('O1', 'A', 'L1', created, '', 'FALSE', 'X', price, '1')}\n${line('O2', 'A', 'L1', '2023-03-10T12:00:00Z', '', 'FALSE', 'X', '1.00', '1')}\n`,
        );
        return file;
      };
      const a = await write('a.csv', '1.00', '2023-03-10T12:00:00Z');
      // Two days after its arrival instant: a future timestamp in 'b'.
      const b = await write('b.csv', '2.00', '2023-03-12T14:00:00Z');
      const files = [
        { path: 'b.csv', absolutePath: b, modifiedMs: arrivedMs, arrival: 0 },
        { path: 'a.csv', absolutePath: a, modifiedMs: arrivedMs + 1000, arrival: 1 },
      ];

      // Act
      const { marts, summary } = await recomputeMarts({ files, asOf: '2023-03-15', settings });

      // Assess: 'b' claims O2 first, so 'a''s O2 is the duplicate; b's O1 is a future timestamp.
      expect(summary.rowOutcomes.order_items).toEqual({ accepted: 2, duplicate: 1, future_timestamp: 1 });
      expect(marts.loyalty_impact.rows[0]).toEqual(['guest', '', '2', '2.00', '1.00', '', '', '', '']);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('recogniseHeader', () => {
  it('recognises kinds by their columns, in any case and order', () => {
    expect(
      recogniseHeader([
        'option_price',
        'ORDER_ID',
        'lineitem_id',
        'Option_Group_Name',
        'OPTION_NAME',
        'option_quantity',
      ])?.kind,
    ).toBe('order_item_options');
    expect(recogniseHeader(['RESTAURANT_ID', 'NAME', 'TIMEZONE'])?.kind).toBe('locations');
    expect(recogniseHeader(['date_key', 'is_holiday'])?.positions).toEqual({
      DATE_KEY: 0,
      IS_HOLIDAY: 1,
      HOLIDAY_NAME: -1,
    });
    expect(recogniseHeader(['ORDER_ID', 'LINEITEM_ID', 'OPTION_NAME'])).toBeNull();
  });
});

describe('compareMart', () => {
  const csv =
    'location_id,first_discount_date,orders_per_day_before,orders_per_day_after,revenue_per_day_before,revenue_per_day_after\n';

  it('names the mart, key, column and both values of a differing cell, and rows on one side only', () => {
    // Prepare
    const expected = parseMartCsv(
      'discount_before_after',
      `${csv}L1,2023-03-14,0.033333,0.500000,0.17,7.75\nL2,,,,,\n`,
    );
    const actual = parseMartCsv(
      'discount_before_after',
      `${csv}L1,2023-03-14,0.033333,0.500000,0.17,7.76\nL3,,,,,\n`,
    );

    // Act
    const differences = compareMart(expected, actual);

    // Assess
    expect(differences).toEqual([
      {
        mart: 'discount_before_after',
        key: 'L1',
        keyCells: { location_id: 'L1' },
        column: 'revenue_per_day_after',
        expected: '7.75',
        actual: '7.76',
      },
      {
        mart: 'discount_before_after',
        key: 'L2',
        keyCells: { location_id: 'L2' },
        column: '(row)',
        expected: 'L2,,,,,',
        actual: '(missing)',
      },
      {
        mart: 'discount_before_after',
        key: 'L3',
        keyCells: { location_id: 'L3' },
        column: '(row)',
        expected: '(missing)',
        actual: 'L3,,,,,',
      },
    ]);
  });

  it('reports rows in another order', () => {
    const expected = parseMartCsv('discount_before_after', `${csv}L1,,,,,\nL2,,,,,\n`);
    const actual = parseMartCsv('discount_before_after', `${csv}L2,,,,,\nL1,,,,,\n`);
    expect(compareMart(expected, actual)).toEqual([
      {
        mart: 'discount_before_after',
        key: '(order)',
        keyCells: {},
        column: 'row 1',
        expected: 'L1',
        actual: 'L2',
      },
    ]);
  });
});
