import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATE_DIM_HEADER, dateDimRows } from '../../../ingest/generator/calendar.js';
import { defaults } from '../../../shared/config.js';
import {
  CsvRecordError,
  EntryKind,
  type ExportParse,
  matchHeader,
  type ParsedEntry,
  parseExport,
  type RejectedEntry,
  RequiredColumns,
  splitCsvRecord,
  validateRow,
  validationSettings,
} from '../../../shared/input/index.js';
import { FileKind } from '../../../shared/schemas/input.js';
import { ReasonCode } from '../../../shared/schemas/reasons.js';

const settings = validationSettings(defaults);
const arrivedAtMs = Date.UTC(2023, 8, 1);
const encoder = new TextEncoder();

type OrderColumn = (typeof RequiredColumns.order_items)[number];
const orderColumns: readonly OrderColumn[] = RequiredColumns.order_items;
const orderHeader = orderColumns.join(',');

const goodOrder: Readonly<Record<OrderColumn, string>> = {
  APP_NAME: 'Web',
  RESTAURANT_ID: '64d0a1b2c3d4e5f6a7b8c9d0',
  CREATION_TIME_UTC: '2023-08-14T17:03:12.345Z',
  ORDER_ID: 'o-1',
  USER_ID: 'u-1',
  PRINTED_CARD_NUMBER: '****1234',
  IS_LOYALTY: 'TRUE',
  CURRENCY: 'USD',
  LINEITEM_ID: 'l-1',
  ITEM_CATEGORY: 'Burgers',
  ITEM_NAME: 'Classic Burger',
  ITEM_PRICE: '19.99',
  ITEM_QUANTITY: '2',
};

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function orderRow(overrides: Partial<Record<OrderColumn, string>> = {}): string {
  const values = { ...goodOrder, ...overrides };
  return orderColumns.map((column) => csvField(values[column])).join(',');
}

function orderFile(...rows: string[]): string {
  return [orderHeader, ...rows].join('\n') + '\n';
}

async function* chunks(bytes: Uint8Array, cuts: readonly number[] = []): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= start || cut >= bytes.length) continue;
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function parseAll(
  content: string | Uint8Array,
  cuts: readonly number[] = [],
): Promise<{ entries: ParsedEntry[]; parse: ExportParse }> {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  const parse = parseExport(chunks(bytes, cuts), { file: 'drop/orders.csv', settings, arrivedAtMs });
  const entries: ParsedEntry[] = [];
  for await (const batch of parse) entries.push(...batch);
  return { entries, parse };
}

async function onlyEntry(content: string): Promise<ParsedEntry> {
  const { entries } = await parseAll(content);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

function rejectionOf(entry: ParsedEntry): RejectedEntry['rejection'] {
  expect(entry.kind).toBe(EntryKind.Rejected);
  return (entry as RejectedEntry).rejection;
}

describe('parseExport: order_items', () => {
  it('normalises a valid line item', async () => {
    // Act
    const entry = await onlyEntry(orderFile(orderRow()));
    // Assess
    expect(entry).toEqual({
      kind: EntryKind.LineItem,
      origin: { file: 'drop/orders.csv', row: 1 },
      outlier: null,
      record: {
        appName: 'Web',
        restaurantId: '64d0a1b2c3d4e5f6a7b8c9d0',
        createdAtMs: Date.UTC(2023, 7, 14, 17, 3, 12, 345),
        orderId: 'o-1',
        userId: 'u-1',
        printedCardNumber: '****1234',
        isLoyalty: true,
        currency: 'USD',
        lineItemId: 'l-1',
        category: 'Burgers',
        itemName: 'Classic Burger',
        unitPriceCents: 1999,
        quantity: 2,
      },
    });
  });

  it('applies the empty-field defaults: guest, no card, not loyalty, Uncategorized', async () => {
    const entry = await onlyEntry(
      orderFile(
        orderRow({
          USER_ID: '',
          PRINTED_CARD_NUMBER: '',
          IS_LOYALTY: '',
          ITEM_CATEGORY: '',
          CURRENCY: 'usd',
        }),
      ),
    );
    expect(entry.kind === EntryKind.LineItem && entry.record).toMatchObject({
      userId: null,
      printedCardNumber: null,
      isLoyalty: false,
      category: 'Uncategorized',
      currency: 'USD',
    });
  });

  it('keeps $0 prices and odd category names as they are', async () => {
    const entry = await onlyEntry(
      orderFile(orderRow({ ITEM_PRICE: '0.00', ITEM_CATEGORY: 'https://x.example/a,b' })),
    );
    expect(entry.kind === EntryKind.LineItem && entry.record).toMatchObject({
      unitPriceCents: 0,
      category: 'https://x.example/a,b',
    });
  });

  it.each([
    ['quantity', { ITEM_QUANTITY: '500' }],
    ['price', { ITEM_PRICE: '5000.00' }],
    ['quantity_and_price', { ITEM_QUANTITY: '100', ITEM_PRICE: '1000' }],
  ] as const)('accepts a %s outlier and counts it as a warning', async (outlier, overrides) => {
    // Act
    const { entries, parse } = await parseAll(
      orderFile(orderRow(overrides), orderRow({ LINEITEM_ID: 'l-2' })),
    );
    // Assess
    expect(entries.map((entry) => entry.kind === EntryKind.LineItem && entry.outlier)).toEqual([
      outlier,
      null,
    ]);
    expect(parse.summary).toMatchObject({ rowsRead: 2, rowsValid: 2, outliers: 1 });
  });

  it('excludes test-app rows (pattern anywhere, any case) before validating them', async () => {
    // Act
    const { entries, parse } = await parseAll(
      orderFile(
        orderRow({ APP_NAME: 'Web development build' }),
        orderRow({ APP_NAME: 'DEVELOPMENT', ITEM_PRICE: 'garbage' }),
        orderRow({ APP_NAME: 'Web' }),
      ),
    );
    // Assess
    expect(entries.map((entry) => entry.kind)).toEqual([
      EntryKind.Excluded,
      EntryKind.Excluded,
      EntryKind.LineItem,
    ]);
    expect(entries[0]).toEqual({
      kind: EntryKind.Excluded,
      origin: { file: 'drop/orders.csv', row: 1 },
      reason: 'test_app',
      appName: 'Web development build',
    });
    expect(parse.summary).toMatchObject({ rowsRead: 3, rowsExcluded: 2, rowsValid: 1, rowsRejected: 0 });
  });

  it.each([
    [ReasonCode.MissingField, 'RESTAURANT_ID', { RESTAURANT_ID: '' }],
    [ReasonCode.MissingField, 'ORDER_ID', { ORDER_ID: '' }],
    [ReasonCode.MissingField, 'LINEITEM_ID', { LINEITEM_ID: '' }],
    [ReasonCode.MissingField, 'CREATION_TIME_UTC', { CREATION_TIME_UTC: '' }],
    [ReasonCode.MissingField, 'CURRENCY', { CURRENCY: '' }],
    [ReasonCode.MissingField, 'ITEM_PRICE', { ITEM_PRICE: '' }],
    [ReasonCode.MissingField, 'ITEM_QUANTITY', { ITEM_QUANTITY: '' }],
    [ReasonCode.BadTimestamp, 'CREATION_TIME_UTC', { CREATION_TIME_UTC: '2023-08-14' }],
    [ReasonCode.BadTimestamp, 'CREATION_TIME_UTC', { CREATION_TIME_UTC: '2023-02-30T10:00:00Z' }],
    [ReasonCode.BadTimestamp, 'CREATION_TIME_UTC', { CREATION_TIME_UTC: 'Aug 14 2023 5pm' }],
    [ReasonCode.FutureTimestamp, 'CREATION_TIME_UTC', { CREATION_TIME_UTC: '2023-09-02T00:00:00.001Z' }],
    [ReasonCode.BadNumber, 'ITEM_PRICE', { ITEM_PRICE: '1e3' }],
    [ReasonCode.BadNumber, 'ITEM_PRICE', { ITEM_PRICE: '12.345' }],
    [ReasonCode.BadNumber, 'ITEM_PRICE', { ITEM_PRICE: 'abc' }],
    [ReasonCode.NegativePrice, 'ITEM_PRICE', { ITEM_PRICE: '-1.00' }],
    [ReasonCode.BadQuantity, 'ITEM_QUANTITY', { ITEM_QUANTITY: '1.5' }],
    [ReasonCode.BadQuantity, 'ITEM_QUANTITY', { ITEM_QUANTITY: '0' }],
    [ReasonCode.BadQuantity, 'ITEM_QUANTITY', { ITEM_QUANTITY: '-1' }],
    [ReasonCode.WrongCurrency, 'CURRENCY', { CURRENCY: 'EUR' }],
    [ReasonCode.BadBoolean, 'IS_LOYALTY', { IS_LOYALTY: 'yes' }],
  ] as const)('rejects as %s (column %s): %j', async (reason, column, overrides) => {
    // Prepare
    const row = orderRow(overrides);
    // Act
    const rejection = rejectionOf(await onlyEntry(orderFile(row)));
    // Assess
    expect(rejection).toMatchObject({ file: 'drop/orders.csv', row: 1, column, reason, raw: row });
    expect(rejection.message).toContain(column);
  });

  it.each([
    ['10000000.00', 'is larger than the largest accepted amount, 9999999.99'],
    ['12.345', 'is not a decimal amount with at most 2 decimals'],
  ])('says why price %s is a bad_number', async (price, because) => {
    // Act
    const rejection = rejectionOf(await onlyEntry(orderFile(orderRow({ ITEM_PRICE: price }))));
    // Assess
    expect(rejection.reason).toBe(ReasonCode.BadNumber);
    expect(rejection.message).toBe(
      `ITEM_PRICE "${price}" ${because}${price === '12.345' ? ' (e.g. 19.99)' : ''}`,
    );
  });

  it('accepts the largest amount', async () => {
    const entry = await onlyEntry(orderFile(orderRow({ ITEM_PRICE: '9999999.99' })));
    expect(entry.kind === EntryKind.LineItem && entry.record.unitPriceCents).toBe(999_999_999);
  });

  it('accepts a timestamp exactly at the future tolerance', async () => {
    const entry = await onlyEntry(orderFile(orderRow({ CREATION_TIME_UTC: '2023-09-02T00:00:00Z' })));
    expect(entry.kind).toBe(EntryKind.LineItem);
  });

  it('rejects a row with the wrong number of fields as malformed_row, and counts every row', async () => {
    // Prepare
    const short = 'Web,r,2023-08-14T17:03:12Z,o-9';
    // Act
    const { entries, parse } = await parseAll(
      orderFile(
        orderRow(),
        short,
        `${orderRow({ LINEITEM_ID: 'l-2' })},extra`,
        orderRow({ LINEITEM_ID: 'l-3' }),
      ),
    );
    // Assess
    expect(entries.map((entry) => entry.kind === EntryKind.Rejected && entry.rejection.reason)).toEqual([
      false,
      ReasonCode.MalformedRow,
      ReasonCode.MalformedRow,
      false,
    ]);
    expect(rejectionOf(entries[1]!)).toMatchObject({ row: 2, column: null, raw: short });
    expect(parse.summary).toMatchObject({
      kind: FileKind.OrderItems,
      rowsRead: 4,
      rowsValid: 2,
      rowsRejected: 2,
      rejectionsByReason: { malformed_row: 2 },
    });
  });

  it('rejects an unterminated quote as malformed_row', async () => {
    const { entries } = await parseAll(
      `${orderFile(orderRow())}${orderRow({ ITEM_NAME: 'x' }).replace(',x,', ',"x,')}\n`,
    );
    expect(entries.map((entry) => entry.kind === EntryKind.Rejected && entry.rejection.reason)).toEqual([
      false,
      ReasonCode.MalformedRow,
    ]);
  });

  it.each([
    ['text after a closing quote', (row: string) => row.replace(',x,', ',"x"tra,')],
    ['a quote that is never closed', (row: string) => row.replace(',x,', ',"x,')],
  ])('ends a malformed row at its line on %s: the rows after it are read', async (_, spoil) => {
    // Prepare
    const content = orderFile(
      orderRow(),
      spoil(orderRow({ LINEITEM_ID: 'l-2', ITEM_NAME: 'x' })),
      orderRow({ LINEITEM_ID: 'l-3' }),
      orderRow({ LINEITEM_ID: 'l-4', ITEM_NAME: 'quoted, "fine"' }),
    );
    // Act
    const { entries } = await parseAll(content);
    // Assess
    expect(
      entries.map((entry) => (entry.kind === EntryKind.Rejected ? entry.rejection.reason : entry.kind)),
    ).toEqual([EntryKind.LineItem, ReasonCode.MalformedRow, EntryKind.LineItem, EntryKind.LineItem]);
    const rejected = entries[1]!;
    expect(rejected.kind === EntryKind.Rejected && rejected.rejection.row).toBe(2);
    // Its raw text is the line as the file has it, which a requeue reads as malformed again (the
    // fields read from it, written back as CSV, would pass as a well-formed row).
    const raw = rejected.kind === EntryKind.Rejected ? rejected.rejection.raw : '';
    expect(raw).toBe(spoil(orderRow({ LINEITEM_ID: 'l-2', ITEM_NAME: 'x' })).replace(/\r?\n$/, ''));
    expect(() => splitCsvRecord(raw)).toThrow(CsvRecordError);
  });
});

describe('parseExport: RFC 4180', () => {
  it('reads quoted commas, quotes and line breaks, numbering rows as records', async () => {
    // Prepare
    const content = orderFile(
      orderRow({ ITEM_NAME: 'Burger, "Double"\nwith cheese' }),
      orderRow({ LINEITEM_ID: 'l-2', ITEM_CATEGORY: 'a\r\nb' }),
      orderRow({ LINEITEM_ID: 'l-3', ITEM_PRICE: 'bad' }),
    );
    // Act
    const { entries } = await parseAll(content);
    // Assess
    expect(entries[0]!.kind === EntryKind.LineItem && entries[0]!.record.itemName).toBe(
      'Burger, "Double"\nwith cheese',
    );
    expect(entries[1]!.kind === EntryKind.LineItem && entries[1]!.record.category).toBe('a\r\nb');
    const rejection = rejectionOf(entries[2]!);
    expect(rejection.row).toBe(3);
    expect(splitCsvRecord(rejection.raw)[11]).toBe('bad');
  });

  it('reads CRLF files and a BOM', async () => {
    // Prepare
    const content = `\uFEFF${orderHeader}\r\n${orderRow()}\r\n${orderRow({ LINEITEM_ID: 'l-2', ITEM_NAME: 'a "b"' })}\r\n`;
    // Act
    const { entries, parse } = await parseAll(content);
    // Assess
    expect(parse.kind).toBe(FileKind.OrderItems);
    expect(parse.columns[0]).toBe('APP_NAME');
    expect(entries.map((entry) => entry.kind === EntryKind.LineItem && entry.record.quantity)).toEqual([
      2, 2,
    ]);
    expect(entries[1]!.kind === EntryKind.LineItem && entries[1]!.record.itemName).toBe('a "b"');
  });

  it('reads a last record without a line break, and skips blank lines without numbering them', async () => {
    const { entries, parse } = await parseAll(
      `${orderHeader}\n\n${orderRow()}\n\n${orderRow({ LINEITEM_ID: 'l-2' })}`,
    );
    expect(entries.map((entry) => entry.kind === EntryKind.LineItem && entry.origin.row)).toEqual([1, 2]);
    expect(parse.summary).toMatchObject({ rowsRead: 2, blankLines: 2 });
  });

  it('recognises the kind by header content, in any column order and letter case', async () => {
    // Prepare
    const header = 'option_quantity,Option_Price,OPTION_NAME,option_group_name,LineItem_ID,order_id,NOTE';
    // Act
    const entry = await onlyEntry(`${header}\n1,-0.50,Large,Size,l-1,o-1,whatever\n`);
    // Assess
    expect(entry).toEqual({
      kind: EntryKind.Option,
      origin: { file: 'drop/orders.csv', row: 1 },
      outlier: null,
      record: {
        orderId: 'o-1',
        lineItemId: 'l-1',
        groupName: 'Size',
        optionName: 'Large',
        priceCents: -50,
        quantity: 1,
      },
    });
  });

  it('gives the same entries for any chunking of the same bytes (multi-byte characters and CRLF split too)', async () => {
    // Prepare
    const content = encoder.encode(
      `\uFEFF${orderHeader}\r\n` +
        [
          orderRow({ ITEM_NAME: 'Crème brûlée, "maison"\r\nà partager', ITEM_CATEGORY: 'Desserts 🍰' }),
          orderRow({ LINEITEM_ID: 'l-2', ITEM_NAME: '日本語メニュー', ITEM_PRICE: '1e3' }),
          orderRow({ LINEITEM_ID: 'l-3', APP_NAME: 'Dévelopment' }),
          orderRow({ LINEITEM_ID: 'l-4', APP_NAME: 'iOS DEVELOPMENT' }),
          'short,row',
          orderRow({ LINEITEM_ID: 'l-6', ITEM_NAME: 'x' }).replace(',x,', ',"x"tra,'),
          orderRow({ LINEITEM_ID: 'l-5', USER_ID: '', ITEM_CATEGORY: '' }),
        ].join('\r\n') +
        '\r\n',
    );
    const { entries: expected } = await parseAll(content);
    expect(expected).toHaveLength(7);
    // Act, Assess
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: content.length - 1 }), { maxLength: 12 }),
        async (cuts) => {
          const { entries } = await parseAll(content, cuts);
          expect(entries).toEqual(expected);
        },
      ),
    );
  });

  it('splits every byte into its own chunk without changing anything', async () => {
    const content = encoder.encode(`${orderHeader}\r\n${orderRow({ ITEM_NAME: 'é€😀,"x"' })}\r\n`);
    const cuts = Array.from({ length: content.length }, (_, index) => index);
    const { entries: whole } = await parseAll(content);
    const { entries: bytewise } = await parseAll(content, cuts);
    expect(bytewise).toEqual(whole);
    expect(whole[0]!.kind === EntryKind.LineItem && whole[0]!.record.itemName).toBe('é€😀,"x"');
  });
});

describe('parseExport: encoding', () => {
  it('rejects a row with invalid UTF-8 as bad_encoding, naming the column, and keeps the others', async () => {
    // Prepare
    const good = encoder.encode(orderFile(orderRow()));
    const bad = encoder.encode(`${orderRow({ LINEITEM_ID: 'l-2', ITEM_NAME: 'Caf__' })}\n`);
    const at = new TextDecoder().decode(bad).indexOf('__');
    bad[at] = 0xe9; // Latin-1 'é': not UTF-8
    bad[at + 1] = 0x21;
    const content = new Uint8Array([
      ...good,
      ...bad,
      ...encoder.encode(`${orderRow({ LINEITEM_ID: 'l-3' })}\n`),
    ]);
    // Act
    const { entries } = await parseAll(content, [good.length + at]);
    // Assess
    expect(entries.map((entry) => entry.kind)).toEqual([
      EntryKind.LineItem,
      EntryKind.Rejected,
      EntryKind.LineItem,
    ]);
    expect(rejectionOf(entries[1]!)).toMatchObject({
      row: 2,
      column: 'ITEM_NAME',
      reason: ReasonCode.BadEncoding,
    });
  });

  it('rejects the whole file when its header is not UTF-8', async () => {
    const content = new Uint8Array([0xff, 0xfe, ...encoder.encode(orderFile(orderRow()).slice(2))]);
    const { entries, parse } = await parseAll(content);
    expect(entries.map((entry) => rejectionOf(entry).reason)).toEqual([ReasonCode.BadEncoding]);
    expect(parse.summary.fileRejection?.reason).toBe(ReasonCode.BadEncoding);
  });
});

describe('parseExport: whole files', () => {
  it.each([
    ['an empty file', ''],
    ['a file of blank lines', '\n\r\n\n'],
    ['a BOM alone', '\uFEFF'],
  ])('reports %s as empty_file', async (_name, content) => {
    // Act
    const { entries, parse } = await parseAll(content);
    // Assess
    expect(entries.map((entry) => rejectionOf(entry))).toEqual([
      expect.objectContaining({ file: 'drop/orders.csv', row: 0, reason: ReasonCode.EmptyFile }),
    ]);
    expect(parse.summary).toMatchObject({ kind: null, rowsRead: 0, headerOnly: false });
  });

  it('reports a header-only file without rejecting it', async () => {
    const { entries, parse } = await parseAll(`${orderHeader}\r\n`);
    expect(entries).toEqual([]);
    expect(parse.summary).toMatchObject({
      kind: FileKind.OrderItems,
      headerOnly: true,
      rowsRead: 0,
      fileRejection: null,
    });
  });

  it('rejects an unknown header as unknown_file_kind without reading on', async () => {
    const { entries, parse } = await parseAll('id,name,total\n1,a,2\n');
    expect(entries.map((entry) => rejectionOf(entry))).toEqual([
      expect.objectContaining({ row: 0, reason: ReasonCode.UnknownFileKind, raw: 'id,name,total' }),
    ]);
    expect(parse.summary).toMatchObject({ kind: null, rowsRead: 0 });
  });

  it('rejects a file missing a required column as missing_column, naming it', async () => {
    // Prepare
    const header = orderColumns.filter((column) => column !== 'ITEM_QUANTITY').join(',');
    // Act
    const { entries, parse } = await parseAll(`${header}\n${orderRow()}\n`);
    // Assess
    const rejection = rejectionOf(entries[0]!);
    expect(rejection).toMatchObject({ row: 0, column: 'ITEM_QUANTITY', reason: ReasonCode.MissingColumn });
    expect(rejection.message).toContain('ITEM_QUANTITY');
    expect(parse.kind).toBe(FileKind.OrderItems);
  });
});

describe('parseExport: order_item_options', () => {
  const header = [...RequiredColumns.order_item_options].join(',');
  it.each([
    ['o-1,l-1,Size,Large,1.50,1', { priceCents: 150, quantity: 1 }],
    ['o-1,l-1,Promo,Half off,-2.5,2', { priceCents: -250, quantity: 2 }],
    ['o-1,l-1,,Extra,0,3', { groupName: '', priceCents: 0, quantity: 3 }],
  ])('accepts %j', async (row, record) => {
    const entry = await onlyEntry(`${header}\n${row}\n`);
    expect(entry.kind === EntryKind.Option && entry.record).toMatchObject(record);
  });

  it.each([
    [',l-1,Size,Large,1.50,1', ReasonCode.MissingField, 'ORDER_ID'],
    ['o-1,,Size,Large,1.50,1', ReasonCode.MissingField, 'LINEITEM_ID'],
    ['o-1,l-1,Size,Large,,1', ReasonCode.MissingField, 'OPTION_PRICE'],
    ['o-1,l-1,Size,Large,1.505,1', ReasonCode.BadNumber, 'OPTION_PRICE'],
    ['o-1,l-1,Size,Large,1.50,0', ReasonCode.BadQuantity, 'OPTION_QUANTITY'],
  ])('rejects %j as %s', async (row, reason, column) => {
    expect(rejectionOf(await onlyEntry(`${header}\n${row}\n`))).toMatchObject({
      reason,
      column,
      row: 1,
      raw: row,
    });
  });
});

describe('parseExport: date_dim', () => {
  const header = 'date_key,year,month,week,day_of_week,is_weekend,is_holiday,holiday_name';
  const sample = [
    header,
    "01-01-2023,2023,1,52,Sunday,TRUE,TRUE,New Year's Day",
    "02-01-2023,2023,1,1,Monday,FALSE,TRUE,New Year's Day Observed",
    '03-01-2023,2023,1,1,Tuesday,FALSE,FALSE,',
    '04-07-2023,2023,7,27,Tuesday,FALSE,TRUE,Independence Day',
    '30-02-2023,2023,2,9,Thursday,FALSE,FALSE,',
    '05-01-2023,2023,1,1,Thursday,FALSE,maybe,',
  ].join('\n');

  it('reads the platform calendar format (DD-MM-YYYY keys, TRUE/FALSE flags)', async () => {
    // Act
    const { entries, parse } = await parseAll(`${sample}\n`);
    // Assess
    expect(parse.kind).toBe(FileKind.DateDim);
    expect(entries.slice(0, 4).map((entry) => entry.kind === EntryKind.CalendarDay && entry.record)).toEqual([
      { date: '2023-01-01', isHoliday: true, holidayName: "New Year's Day" },
      { date: '2023-01-02', isHoliday: true, holidayName: "New Year's Day Observed" },
      { date: '2023-01-03', isHoliday: false, holidayName: null },
      { date: '2023-07-04', isHoliday: true, holidayName: 'Independence Day' },
    ]);
    expect(
      entries
        .slice(4)
        .map((entry) => rejectionOf(entry))
        .map(({ reason, column }) => ({ reason, column })),
    ).toEqual([
      { reason: ReasonCode.BadDate, column: 'date_key' },
      { reason: ReasonCode.BadBoolean, column: 'is_holiday' },
    ]);
  });

  it("reads a whole year's calendar in the chain platform's format without a rejection", async () => {
    // Prepare: the generator writes the chain's date_dim format (its 2023 file is byte for byte the
    // platform's real calendar, which may not be committed here).
    const calendar = `${[DATE_DIM_HEADER, ...dateDimRows(2023, 2023)].join('\n')}\n`;
    // Act
    const { entries } = await parseAll(calendar);
    // Assess
    const days = entries.flatMap((entry) => (entry.kind === EntryKind.CalendarDay ? [entry.record] : []));
    expect(days).toHaveLength(entries.length);
    expect(days).toHaveLength(365);
    expect(days.find((day) => day.date === '2023-01-02')).toEqual({
      date: '2023-01-02',
      isHoliday: true,
      holidayName: "New Year's Day Observed",
    });
    expect(days.find((day) => day.date === '2023-07-04')).toMatchObject({ isHoliday: true });
    expect(days.find((day) => day.date === '2023-07-05')).toEqual({
      date: '2023-07-05',
      isHoliday: false,
      holidayName: null,
    });
  });
});

describe('parseExport: locations', () => {
  it('reads zones and reports an unknown one as unknown_time_zone', async () => {
    // Act
    const { entries } = await parseAll(
      'RESTAURANT_ID,NAME,TIMEZONE\nr1,"Downtown, NYC",America/New_York\nr2,Chicago,America/Chicago\nr3,Nowhere,Mars/Olympus\nr4,Empty,\n',
    );
    // Assess
    expect(entries.slice(0, 2).map((entry) => entry.kind === EntryKind.Location && entry.record)).toEqual([
      { restaurantId: 'r1', name: 'Downtown, NYC', timeZone: 'America/New_York' },
      { restaurantId: 'r2', name: 'Chicago', timeZone: 'America/Chicago' },
    ]);
    expect(rejectionOf(entries[2]!)).toMatchObject({
      reason: ReasonCode.UnknownTimeZone,
      column: 'TIMEZONE',
      row: 3,
    });
    expect(rejectionOf(entries[3]!)).toMatchObject({
      reason: ReasonCode.MissingField,
      column: 'TIMEZONE',
      row: 4,
    });
  });
});

describe('validateRow (requeue)', () => {
  it('re-validates a quarantined raw row after a fix', async () => {
    // Prepare
    const { entries } = await parseAll(orderFile(orderRow({ ITEM_PRICE: '19,99', ITEM_NAME: 'a "b", c' })));
    const rejection = rejectionOf(entries[0]!);
    const match = matchHeader(orderColumns);
    if (!match.ok) throw new Error('header did not match');
    const fields = splitCsvRecord(rejection.raw);
    fields[11] = '19.99';
    // Act
    const entry = validateRow(
      match.layout,
      fields,
      { file: rejection.file, row: rejection.row },
      { settings, arrivedAtMs },
    );
    // Assess
    expect(rejection.reason).toBe(ReasonCode.BadNumber);
    expect(entry.kind === EntryKind.LineItem && entry.record).toMatchObject({
      unitPriceCents: 1999,
      itemName: 'a "b", c',
    });
  });
});
