/**
 * The dashboard's figures as pure functions of what the read model returned: day items, location
 * totals, snapshot records. Money stays integer cents; derived money (averages) is rounded half
 * away from zero to the cent, as in the marts (CONTRACT.md §2). No I/O, no clock.
 */
import type { BreakdownFigures } from '../../aggregates/marts/input.js';
import {
  addDays,
  dateFromDayNumber,
  dayNumber,
  daypart,
  daysBetween,
  isoWeek,
  month,
} from '../../aggregates/time.js';
import type { DayFigures } from './read-model.js';

/** `numerator / denominator` in cents, rounded half away from zero; null when the denominator is 0. */
export function averageCents(numeratorCents: number, denominator: number): number | null {
  if (denominator === 0) return null;
  const sign = Math.sign(numeratorCents) * Math.sign(denominator);
  const n = Math.abs(numeratorCents);
  const d = Math.abs(denominator);
  // Integer arithmetic: floor((2n + d) / 2d) is n/d rounded half up, for n, d ≥ 0.
  return sign * Math.floor((2 * n + d) / (2 * d));
}

/** Every date from `from` to `to` inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let day = dayNumber(from); day <= dayNumber(to); day++) dates.push(dateFromDayNumber(day));
  return dates;
}

/** Monday of the ISO week of a date. */
export function weekStart(localDate: string): string {
  const weekday = (((dayNumber(localDate) + 3) % 7) + 7) % 7;
  return addDays(localDate, -weekday);
}

/** The range a trends view reads: whole ISO weeks and whole months around `from`…`to`. */
export function trendsReadRange(from: string, to: string): { from: string; to: string } {
  const monthStart = `${month(from)}-01`;
  const firstOfNextMonth = addDays(`${month(to)}-01`, 32).slice(0, 7);
  const monthEnd = addDays(`${firstOfNextMonth}-01`, -1);
  const weekFrom = weekStart(from);
  const weekTo = addDays(weekStart(to), 6);
  return {
    from: dateFromDayNumber(Math.min(dayNumber(weekFrom), dayNumber(monthStart))),
    to: dateFromDayNumber(Math.max(dayNumber(weekTo), dayNumber(monthEnd))),
  };
}

export interface PeriodFigures {
  /** `YYYY-MM-DD`, `2023-W33` or `2023-08`. */
  readonly period: string;
  readonly revenueCents: number;
  readonly orders: number;
  readonly items: number;
}

export interface TrendsView {
  readonly from: string;
  readonly to: string;
  readonly totals: PeriodFigures & { readonly avgOrderValueCents: number | null };
  /** Every date of the range, days without orders included, with its holiday name (null when none). */
  readonly days: readonly (PeriodFigures & { readonly holiday: string | null })[];
  /** Whole ISO weeks and months overlapping the range, each with all of its days. */
  readonly weeks: readonly PeriodFigures[];
  readonly months: readonly PeriodFigures[];
  /** By menu category over the range, by revenue (highest first). */
  readonly categories: readonly { category: string; revenueCents: number; orders: number; items: number }[];
  /** Revenue per category per week (same week order as `weeks`), for a stacked chart. */
  readonly categoryWeeks: readonly { category: string; revenueCents: readonly number[] }[];
  readonly dayparts: readonly { daypart: string; orders: number; revenueCents: number }[];
  /** Orders by ISO weekday (0 = Monday) × local hour, over the range. */
  readonly heatmap: readonly (readonly number[])[];
  readonly holidays: readonly { date: string; name: string }[];
}

function rollup(days: readonly DayFigures[], periodOf: (date: string) => string): PeriodFigures[] {
  const periods = new Map<string, { revenueCents: number; orders: number; items: number }>();
  for (const day of days) {
    const period = periodOf(day.date);
    const figures = periods.get(period) ?? { revenueCents: 0, orders: 0, items: 0 };
    figures.revenueCents += day.netCents;
    figures.orders += day.orders;
    figures.items += day.items;
    periods.set(period, figures);
  }
  return [...periods.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([period, figures]) => ({ period, ...figures }));
}

/**
 * Sales trends over `from`…`to` from the days of `trendsReadRange(from, to)`.
 *
 * @example
 * const range = trendsReadRange('2023-08-01', '2023-08-31');
 * const view = trendsView(await model.days(null, range.from, range.to), '2023-08-01', '2023-08-31', holidays);
 */
export function trendsView(
  readDays: readonly DayFigures[],
  from: string,
  to: string,
  holidays: readonly { date: string; name: string }[],
): TrendsView {
  const inRange = readDays.filter((day) => day.date >= from && day.date <= to);
  const byDate = new Map(inRange.map((day) => [day.date, day]));
  const holidayOf = new Map(holidays.map((holiday) => [holiday.date, holiday.name]));
  const days = datesBetween(from, to).map((date) => {
    const day = byDate.get(date);
    return {
      period: date,
      revenueCents: day?.netCents ?? 0,
      orders: day?.orders ?? 0,
      items: day?.items ?? 0,
      holiday: holidayOf.get(date) ?? null,
    };
  });
  const revenueCents = inRange.reduce((sum, day) => sum + day.netCents, 0);
  const orders = inRange.reduce((sum, day) => sum + day.orders, 0);
  const items = inRange.reduce((sum, day) => sum + day.items, 0);
  const weekSet = new Set(datesBetween(from, to).map(isoWeek));
  const monthSet = new Set([month(from), month(to), ...datesBetween(from, to).map(month)]);
  const weeks = rollup(readDays, isoWeek).filter((week) => weekSet.has(week.period));
  const months = rollup(readDays, month).filter((entry) => monthSet.has(entry.period));

  const categories = new Map<string, { revenueCents: number; orders: number; items: number }>();
  const heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  const dayparts = new Map<string, { orders: number; revenueCents: number }>();
  for (const part of ['breakfast', 'lunch', 'afternoon', 'dinner', 'late']) {
    dayparts.set(part, { orders: 0, revenueCents: 0 });
  }
  for (const day of inRange) {
    for (const [category, figures] of Object.entries(day.byCategory) as [string, BreakdownFigures][]) {
      const total = categories.get(category) ?? { revenueCents: 0, orders: 0, items: 0 };
      total.revenueCents += figures.netCents;
      total.orders += figures.orders;
      total.items += figures.items;
      categories.set(category, total);
    }
    const weekday = (((dayNumber(day.date) + 3) % 7) + 7) % 7;
    for (const [hour, figures] of Object.entries(day.byHour) as [string, BreakdownFigures][]) {
      const row = heatmap[weekday]!;
      row[Number(hour)] = (row[Number(hour)] ?? 0) + figures.orders;
      const part = dayparts.get(daypart(Number(hour)))!;
      part.orders += figures.orders;
      part.revenueCents += figures.netCents;
    }
  }
  const categoryList = [...categories.entries()]
    .map(([category, figures]) => ({ category, ...figures }))
    .sort((a, b) => b.revenueCents - a.revenueCents || (a.category < b.category ? -1 : 1));
  const weekIndex = new Map(weeks.map((week, index) => [week.period, index]));
  const categoryWeeks = categoryList.map(({ category }) => {
    const revenue = new Array<number>(weeks.length).fill(0);
    for (const day of readDays) {
      const index = weekIndex.get(isoWeek(day.date));
      const figures = day.byCategory[category];
      if (index !== undefined && figures !== undefined) revenue[index]! += figures.netCents;
    }
    return { category, revenueCents: revenue };
  });
  return {
    from,
    to,
    totals: {
      period: `${from}…${to}`,
      revenueCents,
      orders,
      items,
      avgOrderValueCents: averageCents(revenueCents, orders),
    },
    days,
    weeks,
    months,
    categories: categoryList,
    categoryWeeks,
    dayparts: [...dayparts.entries()].map(([part, figures]) => ({ daypart: part, ...figures })),
    heatmap,
    holidays: holidays.filter((holiday) => holiday.date >= from && holiday.date <= to),
  };
}

export interface LocationRow {
  readonly rank: number;
  readonly locationId: string;
  readonly name: string;
  readonly revenueCents: number;
  readonly orders: number;
  readonly avgOrderValueCents: number | null;
  readonly activeDays: number;
  /** Calendar days from the later of `from` and the location's first order date to `to`. */
  readonly spanDays: number;
  readonly ordersPerDay: number;
  readonly ordersPerWeek: number;
  readonly best: boolean;
  readonly worst: boolean;
}

/**
 * Locations ranked by net revenue over the range (ties by RESTAURANT_ID), with orders per day and
 * per week over the days each location was open in the range (from its first order on).
 */
export function locationRanking(
  locations: readonly {
    readonly locationId: string;
    readonly name: string;
    readonly firstDate: string | null;
    readonly days: readonly DayFigures[];
  }[],
  from: string,
  to: string,
): LocationRow[] {
  const rows = locations
    .map((location) => {
      const days = location.days.filter((day) => day.date >= from && day.date <= to && day.orders > 0);
      const revenueCents = days.reduce((sum, day) => sum + day.netCents, 0);
      const orders = days.reduce((sum, day) => sum + day.orders, 0);
      const opened = location.firstDate !== null && location.firstDate > from ? location.firstDate : from;
      const spanDays = Math.max(daysBetween(opened, to) + 1, 1);
      return {
        locationId: location.locationId,
        name: location.name,
        revenueCents,
        orders,
        avgOrderValueCents: averageCents(revenueCents, orders),
        activeDays: days.length,
        spanDays,
        ordersPerDay: orders / spanDays,
        ordersPerWeek: (7 * orders) / spanDays,
      };
    })
    .filter((row) => row.orders > 0)
    .sort(
      (a, b) =>
        b.revenueCents - a.revenueCents ||
        (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0),
    );
  return rows.map((row, index) => ({
    ...row,
    rank: index + 1,
    best: index === 0 && rows.length > 1,
    worst: index === rows.length - 1 && rows.length > 1,
  }));
}

export interface DiscountFigures {
  readonly orders: number;
  readonly grossCents: number;
  readonly discountCents: number;
  readonly netCents: number;
  readonly avgOrderValueCents: number | null;
}

/** Discounted vs full-price orders of a set of days. */
export function discountSplit(days: readonly DayFigures[]): {
  discounted: DiscountFigures;
  fullPrice: DiscountFigures;
} {
  let orders = 0;
  let gross = 0;
  let net = 0;
  let discount = 0;
  let xOrders = 0;
  let xGross = 0;
  let xNet = 0;
  for (const day of days) {
    orders += day.orders;
    gross += day.grossCents;
    net += day.netCents;
    discount += day.discountCents;
    xOrders += day.discountedOrders;
    xGross += day.discountedGrossCents;
    xNet += day.discountedNetCents;
  }
  return {
    discounted: {
      orders: xOrders,
      grossCents: xGross,
      discountCents: discount,
      netCents: xNet,
      avgOrderValueCents: averageCents(xNet, xOrders),
    },
    // An order without a negative option has no discount: its gross is its net.
    fullPrice: {
      orders: orders - xOrders,
      grossCents: gross - xGross,
      discountCents: 0,
      netCents: net - xNet,
      avgOrderValueCents: averageCents(net - xNet, orders - xOrders),
    },
  };
}
