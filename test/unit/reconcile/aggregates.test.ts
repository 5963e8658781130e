/**
 * The recomputation of the DynamoDB aggregates items with DuckDB, the reading of stored items into
 * the same business fields, their comparison, and the reconcile command's output and usage errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortCode } from '../../../aggregates/keys.js';
import {
  checkedItemsSql,
  expectedAggregatesSql,
  fieldDifferencesSql,
  fieldTablesSql,
} from '../../../processors/reconcile/aggregates-sql.js';
import { formatDifferenceTable, runReconcileCommand } from '../../../processors/reconcile/cli.js';
import { type AggregateField, decodeStoredItem, StagedInput } from '../../../processors/reconcile/index.js';
import { CliError, ExitCode } from '../../../shared/cli/errors.js';

const settings = {
  currency: 'USD',
  testAppPattern: 'DEVELOPMENT',
  defaultTimeZone: 'America/New_York',
  futureToleranceMs: 86_400_000,
  orphanGraceDays: 7,
} as const;

const ITEMS_HEADER =
  'ORDER_ID,LINEITEM_ID,APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';

describe('decodeStoredItem', () => {
  const drinks = shortCode('Drinks');
  const location = shortCode('loc-1');

  it('names totals, hours and categories of a day item by their labels, leaving out marks and zeros', () => {
    // Act
    const fields = decodeStoredItem({
      pk: 'L#loc-1',
      sk: 'D#2023-03-15',
      o: 2,
      n: 2300,
      xo: 0,
      h12o: 1,
      [`c${drinks}i`]: 2,
      [`K${drinks}`]: 'Drinks',
      [`c${'zzzzzzzz'}n`]: 5,
      w0: '00000000000000000000000000000000000000abcd',
      surprise: 'x',
    });

    // Assess
    const values = Object.fromEntries((fields ?? []).map((field) => [field.field, field.value]));
    expect(values).toEqual({
      orders: '2',
      netCents: '2300',
      'hour[12].orders': '1',
      'category[Drinks].items': '2',
      // A code without its label cannot be named: it can only differ.
      'category[?zzzzzzzz].netCents': '5',
      '(attribute surprise)': '"x"',
    });
    expect(fields?.every((field) => field.pk === 'L#loc-1' && field.sk === 'D#2023-03-15')).toBe(true);
  });

  it("names a customer month's entries by day and location, and skips profiles", () => {
    // Act
    const fields = decodeStoredItem({
      pk: 'C#U1',
      sk: 'M#2023-03',
      [`o15${location}`]: 1,
      [`n15${location}`]: 2100,
      [`y15${location}`]: 0,
      [`L${location}`]: 'loc-1',
    });

    // Assess
    expect(fields?.map((field) => [field.field, field.value])).toEqual([
      ['day[15][loc-1].orders', '1'],
      ['day[15][loc-1].netCents', '2100'],
    ]);
    expect(decodeStoredItem({ pk: 'C#U1', sk: 'P', tier: 'High', clvCents: 2100 })).toBeNull();
  });

  it('keeps breakdowns on a location-totals item as unknown attributes', () => {
    const fields = decodeStoredItem({ pk: 'LOC', sk: 'loc-1', o: 3, h12o: 1, n: 1.5 });
    expect(fields?.map((field) => [field.field, field.value])).toEqual([
      ['orders', '3'],
      ['(attribute h12o)', '1'],
      ['netCents', '1.5'],
    ]);
  });
});

describe('aggregates recomputed with DuckDB', () => {
  let folder: string;
  let staged: StagedInput;
  let expected: Map<string, string>;

  const differencesWith = async (actual: readonly AggregateField[]) => {
    await staged.run('DELETE FROM actual_fields', 'reset');
    const appender = await staged.connection.createAppender('actual_fields');
    for (const field of actual) {
      appender.appendVarchar(field.pk);
      appender.appendVarchar(field.sk);
      appender.appendVarchar(field.field);
      appender.appendVarchar(field.value);
      appender.endRow();
    }
    appender.closeSync();
    const rows = (await staged.read(fieldDifferencesSql, 'compare')).getRowsJS();
    const checked = Number((await staged.read(checkedItemsSql, 'compare')).getRowsJS()[0]?.[0]);
    return { rows, checked };
  };

  const expectedFields = (): AggregateField[] =>
    [...expected].map(([id, value]) => {
      const [pk, sk, field] = id.split('\u0000') as [string, string, string];
      return { pk, sk, field, value };
    });

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'reconcile-aggregates-'));
    const items = [
      ITEMS_HEADER,
      // O1 at L1 (New York, EDT): 16:30Z is 12:30 local. Burger 2 × 10.00, Cola 1 × 2.00, loyalty on one line.
      'O1,A,app,L1,2023-03-15T16:30:00Z,U1,,TRUE,USD,Burgers,Burger,10.00,2',
      'O1,B,app,L1,2023-03-15T16:31:00Z,U1,,FALSE,USD,Drinks,Cola,2.00,1',
      // A guest order at 13:00 local.
      'O2,A,app,L1,2023-03-15T17:00:00Z,,,FALSE,USD,Drinks,Cola,2.00,1',
      // U1 again on another day at L2.
      'O3,A,app,L2,2023-04-02T15:00:00Z,U1,,FALSE,USD,,Fries,3.00,1',
    ];
    await writeFile(path.join(folder, 'items.csv'), `${items.join('\n')}\n`);
    // O1/A: −1.50 discount and +0.50 size: net 19.00, gross 20.50.
    await writeFile(
      path.join(folder, 'options.csv'),
      `${OPTIONS_HEADER}\nO1,A,Promo,Coupon,-1.50,1\nO1,A,Size,Large,0.50,1\n`,
    );
    staged = await StagedInput.open({ inputDir: folder }, settings);
    await staged.run(fieldTablesSql + expectedAggregatesSql, 'aggregates');
    const rows = (await staged.read('SELECT pk, sk, field, value FROM expected_fields', 'read')).getRowsJS();
    expected = new Map(
      rows.map(([pk, sk, field, value]) => [`${pk}\u0000${sk}\u0000${field}`, String(value)]),
    );
  });

  afterAll(async () => {
    staged?.close();
    await rm(folder, { recursive: true, force: true });
  });

  const figuresOf = (pk: string, sk: string): Record<string, string> =>
    Object.fromEntries(
      expectedFields()
        .filter((field) => field.pk === pk && field.sk === sk)
        .map((field) => [field.field, field.value]),
    );

  it('computes location days with totals, discounts, guests, hours and categories', () => {
    expect(figuresOf('L#L1', 'D#2023-03-15')).toEqual({
      orders: '2',
      items: '4',
      netCents: '2300',
      grossCents: '2450',
      discountCents: '150',
      discountedOrders: '1',
      discountedItems: '3',
      discountedNetCents: '2100',
      discountedGrossCents: '2250',
      guestOrders: '1',
      guestNetCents: '200',
      'hour[12].orders': '1',
      'hour[12].items': '3',
      'hour[12].netCents': '2100',
      'hour[13].orders': '1',
      'hour[13].items': '1',
      'hour[13].netCents': '200',
      // Category revenue includes the line's options; an order counts once per category.
      'category[Burgers].orders': '1',
      'category[Burgers].items': '2',
      'category[Burgers].netCents': '1900',
      'category[Drinks].orders': '2',
      'category[Drinks].items': '2',
      'category[Drinks].netCents': '400',
    });
    expect(figuresOf('ALL', 'D#2023-03-15')).toEqual(figuresOf('L#L1', 'D#2023-03-15'));
  });

  it('computes location totals over every day, and customer months by day and location', () => {
    expect(figuresOf('LOC', 'L2')).toEqual({ orders: '1', items: '1', netCents: '300', grossCents: '300' });
    expect(figuresOf('L#L2', 'D#2023-04-02')['category[Uncategorized].netCents']).toBe('300');
    expect(figuresOf('C#U1', 'M#2023-03')).toEqual({
      'day[15][L1].orders': '1',
      'day[15][L1].netCents': '2100',
      'day[15][L1].loyaltyOrders': '1',
    });
    expect(figuresOf('C#U1', 'M#2023-04')).toEqual({
      'day[02][L2].orders': '1',
      'day[02][L2].netCents': '300',
    });
  });

  it('finds no difference with the same fields, and names each changed, missing and extra one', async () => {
    // Act
    const same = await differencesWith(expectedFields());
    const changed = await differencesWith([
      ...expectedFields()
        .filter((field) => field.pk !== 'C#U1' || field.sk !== 'M#2023-04')
        .filter((field) => !(field.pk === 'LOC' && field.sk === 'L1' && field.field === 'guestOrders'))
        .map((field) =>
          field.pk === 'L#L1' && field.field === 'category[Drinks].netCents'
            ? { ...field, value: '401' }
            : field,
        ),
      { pk: 'L#L3', sk: 'D#2023-03-15', field: 'orders', value: '1' },
    ]);

    // Assess
    expect(same.rows).toEqual([]);
    expect(same.checked).toBe(8);
    expect(changed.rows).toEqual([
      ['C#U1', 'M#2023-04', '(item)', 'day[02][L2].netCents=300 day[02][L2].orders=1', null],
      ['L#L1', 'D#2023-03-15', 'category[Drinks].netCents', '400', '401'],
      ['L#L3', 'D#2023-03-15', '(item)', null, 'orders=1'],
      ['LOC', 'L1', 'guestOrders', '1', null],
    ]);
    expect(changed.checked).toBe(9);
  });
});

describe('reconcile command', () => {
  it('prints differences as a table, cutting long cells and counting the rest', () => {
    // Act
    const table = formatDifferenceTable(
      [
        { scope: 'aggregate', item: 'LOC / L1', field: 'netCents', expected: '2300', actual: '2301' },
        {
          scope: 'aggregate',
          item: 'L#L3 / D#2023-03-15',
          field: '(item)',
          expected: null,
          actual: 'x'.repeat(80),
        },
        { scope: 'mart', item: 'loyalty_impact / group=guest', field: 'orders', expected: '1', actual: '2' },
      ],
      2,
    );

    // Assess
    expect(table.split('\n')).toEqual([
      'item                 field     expected  actual',
      '-------------------  --------  --------  ------------------------------------------------------------',
      'LOC / L1             netCents  2300      2301',
      `L#L3 / D#2023-03-15  (item)    (none)    ${'x'.repeat(59)}…`,
      '… and 1 more (--limit N)',
    ]);
  });

  it.each([
    [{ limit: '-1' }, '--limit must be a whole number'],
    [{ limit: '4x' }, '--limit must be a whole number'],
    [{ asOf: '2023-02-30x' }, '--as-of must be a date'],
    [{ asOf: '03/09/2023' }, '--as-of must be a date'],
  ])('refuses %o as bad usage before opening anything', async (options, message) => {
    const attempt = runReconcileCommand(options, {});
    await expect(attempt).rejects.toBeInstanceOf(CliError);
    await expect(attempt).rejects.toMatchObject({ exitCode: ExitCode.BadUsage });
    await expect(attempt).rejects.toThrow(message);
  });
});
