import { describe, expect, it } from 'vitest';
import { matchHeader, RequiredColumns } from '../../../shared/input/index.js';
import { FileKind } from '../../../shared/schemas/input.js';

const orderItemsHeader = [...RequiredColumns.order_items];

describe('matchHeader', () => {
  it.each([
    [FileKind.OrderItems, orderItemsHeader],
    [FileKind.OrderItemOptions, [...RequiredColumns.order_item_options]],
    [
      FileKind.DateDim,
      ['date_key', 'year', 'month', 'week', 'day_of_week', 'is_weekend', 'is_holiday', 'holiday_name'],
    ],
    [FileKind.Locations, ['RESTAURANT_ID', 'NAME', 'TIMEZONE']],
  ])('recognises %s by its columns', (kind, header) => {
    // Act
    const match = matchHeader(header);
    // Assess
    expect(match.ok && match.layout.kind).toBe(kind);
  });

  it('matches names case-insensitively, ignoring spaces and a BOM, in any order, with extra columns', () => {
    // Prepare
    const header = [
      '\uFEFF  item_price',
      ...orderItemsHeader
        .slice(0, 11)
        .map((name) => name.toLowerCase())
        .reverse(),
    ];
    header.push(' Item_Quantity ', 'SOMETHING_ELSE');
    // Act
    const match = matchHeader(header);
    // Assess
    expect(match.ok).toBe(true);
    if (!match.ok) return;
    expect(match.layout.kind).toBe(FileKind.OrderItems);
    expect(match.layout.index['ITEM_PRICE']).toBe(0);
    expect(match.layout.index['ITEM_QUANTITY']).toBe(12);
    expect(match.layout.index['APP_NAME']).toBe(11);
    expect(match.layout.columns[0]).toBe('item_price');
  });

  it('names the missing column of a recognisable header', () => {
    // Act
    const match = matchHeader(orderItemsHeader.filter((name) => name !== 'CURRENCY'));
    // Assess
    expect(match).toEqual({ ok: false, kind: FileKind.OrderItems, missing: ['CURRENCY'] });
  });

  it('takes a locations file without TIMEZONE for locations lacking it', () => {
    expect(matchHeader(['RESTAURANT_ID', 'NAME'])).toEqual({
      ok: false,
      kind: FileKind.Locations,
      missing: ['TIMEZONE'],
    });
  });

  it.each([[['a', 'b', 'c']], [['RESTAURANT_ID']], [['ORDER_ID', 'LINEITEM_ID']], [['']]])(
    'does not recognise %j',
    (header) => {
      expect(matchHeader(header)).toEqual({ ok: false, kind: null, missing: [] });
    },
  );

  it('never takes order_items for locations or options, though it shares their ids', () => {
    const match = matchHeader([...orderItemsHeader, 'TIMEZONE', 'NAME']);
    expect(match.ok && match.layout.kind).toBe(FileKind.OrderItems);
  });
});
