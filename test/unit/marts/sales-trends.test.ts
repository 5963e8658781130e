import { describe, expect, it } from 'vitest';
import { martRows } from '../../../aggregates/marts/columns.js';
import { type SalesTrendsRow, salesTrends } from '../../../aggregates/marts/sales-trends.js';
import { figures, locationDay } from './fixtures.js';

function find(
  rows: readonly SalesTrendsRow[],
  grain: string,
  period: string,
  locationId: string,
  breakdown: string,
  value: string,
) {
  return rows.find(
    (row) =>
      row.grain === grain &&
      row.period === period &&
      row.locationId === locationId &&
      row.breakdown === breakdown &&
      row.breakdownValue === value,
  );
}

describe('sales_trends', () => {
  it('puts days either side of the ISO year edge into week 53 and week 1, and months apart', () => {
    // Prepare: 2020-12-31 (Thu) and 2021-01-03 (Sun) are 2020-W53; 2021-01-04 (Mon) is 2021-W01
    const days = [
      locationDay('loc-a', '2020-12-31', 100),
      locationDay('loc-a', '2021-01-03', 200),
      locationDay('loc-a', '2021-01-04', 400),
    ];

    // Act
    const rows = martRows(salesTrends(days, [], '2021-01-31'));

    // Assess
    expect(find(rows, 'week', '2020-W53', 'loc-a', 'total', 'total')?.revenueCents).toBe(300);
    expect(find(rows, 'week', '2021-W01', 'loc-a', 'total', 'total')?.revenueCents).toBe(400);
    expect(find(rows, 'month', '2020-12', 'loc-a', 'total', 'total')?.revenueCents).toBe(100);
    expect(find(rows, 'month', '2021-01', 'ALL', 'total', 'total')?.revenueCents).toBe(600);
    expect(find(rows, 'week', '2020-W53', 'loc-a', 'total', 'total')?.isHoliday).toBeNull();
  });

  it('adds locations into ALL, breaks down by category, hour and daypart, and marks holidays on days', () => {
    // Prepare: 04:xx is late, 05:xx breakfast, 21:xx late
    const days = [
      locationDay('loc-a', '2023-07-04', 3000, {
        orders: 3,
        items: 5,
        byCategory: { Burgers: figures(2, 3, 2000), '=cmd': figures(2, 2, 1000) },
        byHour: { '04': figures(1, 1, 500), '05': figures(1, 2, 1000), '21': figures(1, 2, 1500) },
      }),
      locationDay('loc-b', '2023-07-04', 1000, {
        orders: 1,
        items: 1,
        byHour: { '21': figures(1, 1, 1000) },
      }),
      locationDay('loc-b', '2023-07-05', 700),
      locationDay('loc-b', '2023-07-06', 900),
    ];

    // Act
    const rows = martRows(
      salesTrends(days, [{ date: '2023-07-04', name: 'Independence Day' }], '2023-07-05'),
    );

    // Assess
    const allTotal = find(rows, 'day', '2023-07-04', 'ALL', 'total', 'total')!;
    expect([allTotal.revenueCents, allTotal.orders, allTotal.items]).toEqual([4000, 4, 6]);
    expect(allTotal.isHoliday).toBe(true);
    expect(allTotal.holidayName).toBe('Independence Day');
    expect(find(rows, 'day', '2023-07-05', 'loc-b', 'total', 'total')!.isHoliday).toBe(false);
    expect(find(rows, 'day', '2023-07-06', 'loc-b', 'total', 'total')).toBeUndefined();
    expect(find(rows, 'day', '2023-07-04', 'loc-a', 'category', 'Burgers')!.orders).toBe(2);
    expect(find(rows, 'day', '2023-07-04', 'loc-a', 'category', '=cmd')!.revenueCents).toBe(1000);
    const late = find(rows, 'day', '2023-07-04', 'loc-a', 'daypart', 'late')!;
    expect([late.revenueCents, late.orders, late.items]).toEqual([2000, 2, 3]);
    expect(find(rows, 'day', '2023-07-04', 'loc-a', 'daypart', 'breakfast')!.revenueCents).toBe(1000);
    expect(find(rows, 'day', '2023-07-04', 'ALL', 'hour', '21')!.revenueCents).toBe(2500);
    expect(find(rows, 'month', '2023-07', 'loc-b', 'total', 'total')!.revenueCents).toBe(1700);
  });

  it('sorts rows by the key columns as UTF-8 bytes', () => {
    const rows = martRows(salesTrends([locationDay('loc-a', '2023-07-04', 100)], [], '2023-07-31'));
    const keys = rows.map((row) =>
      [row.grain, row.period, row.locationId, row.breakdown, row.breakdownValue].join('\u0000'),
    );
    expect(keys).toEqual([...keys].sort());
    expect(rows[0]).toMatchObject({ grain: 'day', locationId: 'ALL', breakdown: 'category' });
  });
});
