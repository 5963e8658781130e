/**
 * `sales_trends`: net revenue, orders and items per day, ISO week (`2023-W33`, Monday start) and
 * month (`2023-08`), per location and chain-wide (`ALL`), in total and broken down by menu category,
 * local hour (`00`–`23`) and daypart (breakfast 05–10, lunch 11–14, afternoon 15–16, dinner 17–20,
 * late 21–04); one row where orders exist (CONTRACT.md §2, §3).
 *
 * - Category revenue is the revenue of the lines in that category, options included; an order
 *   counts once in each category it contains. Hour and daypart come from the order's instant.
 * - `ALL` rows add up the locations' rows as they are, each location in its own local time.
 * - Holidays from date_dim are marked on day rows only: `is_holiday` is true when the calendar
 *   names the date a holiday, false otherwise (a date no calendar covers is not a holiday); week
 *   and month rows leave it empty. `holiday_name` (an extra column) names the holiday.
 */
import { daypart, isoWeek, month } from '../time.js';
import { arrayMart, column, type Mart, MartName, sortByUtf8Keys } from './columns.js';
import type { BreakdownFigures, Holiday, LocationDay } from './input.js';

export const Grain = { Day: 'day', Week: 'week', Month: 'month' } as const;
export type Grain = (typeof Grain)[keyof typeof Grain];

export const Breakdown = { Total: 'total', Category: 'category', Hour: 'hour', Daypart: 'daypart' } as const;
export type Breakdown = (typeof Breakdown)[keyof typeof Breakdown];

/** The location id of chain-wide rows. */
export const ALL_LOCATIONS = 'ALL';

const GRAINS = [Grain.Day, Grain.Week, Grain.Month] as const;

export interface SalesTrendsRow {
  readonly grain: Grain;
  /** `YYYY-MM-DD`, `YYYY-Www` or `YYYY-MM` by grain. */
  readonly period: string;
  readonly locationId: string;
  readonly breakdown: Breakdown;
  /** `total`, a category, an hour `00`–`23` or a daypart. */
  readonly breakdownValue: string;
  readonly revenueCents: number;
  readonly orders: number;
  readonly items: number;
  /** Day rows only. */
  readonly isHoliday: boolean | null;
  readonly holidayName: string | null;
}

export const salesTrendsColumns = [
  column.text<SalesTrendsRow>('grain', (row) => row.grain),
  column.text<SalesTrendsRow>('period', (row) => row.period),
  column.text<SalesTrendsRow>('location_id', (row) => row.locationId),
  column.text<SalesTrendsRow>('breakdown', (row) => row.breakdown),
  column.text<SalesTrendsRow>('breakdown_value', (row) => row.breakdownValue),
  column.money<SalesTrendsRow>('revenue', (row) => row.revenueCents),
  column.count<SalesTrendsRow>('orders', (row) => row.orders),
  column.count<SalesTrendsRow>('items', (row) => row.items),
  column.boolean<SalesTrendsRow>('is_holiday', (row) => row.isHoliday),
  column.text<SalesTrendsRow>('holiday_name', (row) => row.holidayName),
] as const;

interface Figures {
  revenueCents: number;
  orders: number;
  items: number;
}

/** All breakdowns of one grain × period × location. */
interface PeriodFigures {
  readonly grain: Grain;
  readonly period: string;
  readonly locationId: string;
  readonly total: Figures;
  readonly byCategory: Map<string, Figures>;
  readonly byHour: Map<string, Figures>;
  readonly byDaypart: Map<string, Figures>;
}

function addTo(
  figures: Map<string, Figures>,
  key: string,
  revenueCents: number,
  orders: number,
  items: number,
) {
  const existing = figures.get(key);
  if (existing === undefined) {
    figures.set(key, { revenueCents, orders, items });
  } else {
    existing.revenueCents += revenueCents;
    existing.orders += orders;
    existing.items += items;
  }
}

// `for…in` rather than `Object.entries`: this runs six times per location-day, and the entry arrays
// were most of the mart's transient memory (hundreds of MiB at 50 locations × 400 days).
function addBreakdown(figures: Map<string, Figures>, breakdown: Readonly<Record<string, BreakdownFigures>>) {
  for (const key in breakdown) {
    const value = breakdown[key]!;
    addTo(figures, key, value.netCents, value.orders, value.items);
  }
}

/** The hours of a location-day summed by daypart. */
function byDaypart(byHour: Readonly<Record<string, BreakdownFigures>>): Record<string, BreakdownFigures> {
  const dayparts: Record<string, { netCents: number; orders: number; items: number }> = {};
  for (const hour in byHour) {
    const value = byHour[hour]!;
    const name = daypart(Number(hour));
    const sum = dayparts[name];
    if (sum === undefined)
      dayparts[name] = { netCents: value.netCents, orders: value.orders, items: value.items };
    else {
      sum.netCents += value.netCents;
      sum.orders += value.orders;
      sum.items += value.items;
    }
  }
  return dayparts;
}

/**
 * The `sales_trends` mart of the location days on or before `asOf`.
 *
 * @example
 * const mart = salesTrends(locationDays, holidays, '2023-08-31');
 */
export function salesTrends(
  locationDays: Iterable<LocationDay>,
  holidays: Iterable<Holiday>,
  asOf: string,
): Mart<SalesTrendsRow> {
  const holidayNames = new Map<string, string | null>();
  for (const holiday of holidays) holidayNames.set(holiday.date, holiday.name);
  const periods = new Map<string, PeriodFigures>();
  // The day, ISO week and month of a date, once per date (every location shares them).
  const periodsByDate = new Map<string, readonly string[]>();
  const periodsOf = (date: string): readonly string[] => {
    let found = periodsByDate.get(date);
    if (found === undefined) {
      found = [date, isoWeek(date), month(date)];
      periodsByDate.set(date, found);
    }
    return found;
  };
  const figuresOf = (grain: Grain, period: string, locationId: string): PeriodFigures => {
    const key = `${grain} ${period} ${locationId}`;
    let figures = periods.get(key);
    if (figures === undefined) {
      figures = {
        grain,
        period,
        locationId,
        total: { revenueCents: 0, orders: 0, items: 0 },
        byCategory: new Map(),
        byHour: new Map(),
        byDaypart: new Map(),
      };
      periods.set(key, figures);
    }
    return figures;
  };

  for (const locationDay of locationDays) {
    // Dates are `YYYY-MM-DD`, so string order is date order.
    if (locationDay.date > asOf || locationDay.orders <= 0) continue;
    const dayparts = byDaypart(locationDay.byHour);
    const periods = periodsOf(locationDay.date);
    for (let index = 0; index < GRAINS.length; index++) {
      for (const locationId of [locationDay.locationId, ALL_LOCATIONS]) {
        const figures = figuresOf(GRAINS[index]!, periods[index]!, locationId);
        figures.total.revenueCents += locationDay.netCents;
        figures.total.orders += locationDay.orders;
        figures.total.items += locationDay.items;
        addBreakdown(figures.byCategory, locationDay.byCategory);
        addBreakdown(figures.byHour, locationDay.byHour);
        addBreakdown(figures.byDaypart, dayparts);
      }
    }
  }

  const rows: SalesTrendsRow[] = [];
  for (const figures of periods.values()) {
    const isDay = figures.grain === Grain.Day;
    const holidayName = isDay ? holidayNames.get(figures.period) : undefined;
    const rowOf = (breakdown: Breakdown, breakdownValue: string, value: Figures): SalesTrendsRow => ({
      grain: figures.grain,
      period: figures.period,
      locationId: figures.locationId,
      breakdown,
      breakdownValue,
      revenueCents: value.revenueCents,
      orders: value.orders,
      items: value.items,
      isHoliday: isDay ? holidayName !== undefined : null,
      holidayName: holidayName ?? null,
    });
    rows.push(rowOf(Breakdown.Total, Breakdown.Total, figures.total));
    const breakdowns = [
      [Breakdown.Category, figures.byCategory],
      [Breakdown.Hour, figures.byHour],
      [Breakdown.Daypart, figures.byDaypart],
    ] as const;
    for (const [breakdown, values] of breakdowns) {
      for (const [breakdownValue, value] of values) {
        if (value.orders > 0) rows.push(rowOf(breakdown, breakdownValue, value));
      }
    }
  }
  const sorted = sortByUtf8Keys(rows, (row) => [
    row.grain,
    row.period,
    row.locationId,
    row.breakdown,
    row.breakdownValue,
  ]);
  return arrayMart(
    MartName.SalesTrends,
    ['grain', 'period', 'location_id', 'breakdown', 'breakdown_value'],
    salesTrendsColumns,
    sorted,
  );
}
