/**
 * From aggregates items (as the DocumentClient returns them) to the marts' input model
 * (aggregates/marts/input.ts): customer histories and location days. Chain-day and location-total
 * items are sums of location days and are not needed by the marts.
 */
import {
  Attr,
  CATEGORY_ATTR,
  CUSTOMER_ATTR,
  HOUR_ATTR,
  type ItemKey,
  ItemKind,
  itemKind,
  KeyPrefix,
} from './keys.js';
import type { BreakdownFigures, CustomerDay, CustomerHistory, LocationDay } from './marts/input.js';

/** An aggregates item as read: its key and its attributes as plain values. */
export type AggregateItem = ItemKey & Readonly<Record<string, unknown>>;

/** An item that does not follow the layout of aggregates/keys.ts. */
export class MalformedItemError extends Error {
  override name = 'MalformedItemError';
  constructor(
    readonly key: ItemKey,
    detail: string,
  ) {
    super(`aggregates item ${key.pk}/${key.sk}: ${detail}`);
  }
}

export interface MartInput {
  /** Sorted by customer id. */
  readonly customers: CustomerHistory[];
  /** Sorted by location, then date. Days whose orders all moved elsewhere are left out. */
  readonly locationDays: LocationDay[];
}

function numberAt(item: AggregateItem, name: string): number {
  const value = item[name];
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new MalformedItemError(item, `attribute ${name} is not an integer (${JSON.stringify(value)})`);
  }
  return value;
}

function labelAt(item: AggregateItem, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw new MalformedItemError(item, `label ${name} is missing`);
  return value;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The days of one customer-month item or part (zeros kept: parts may cancel each other out). */
function customerDays(item: AggregateItem): CustomerDay[] {
  // `M#YYYY-MM`, or `M#YYYY-MM#<shard code>` for a part.
  const month = item.sk.slice(KeyPrefix.CustomerMonth.length, KeyPrefix.CustomerMonth.length + 7);
  const entries = new Set<string>();
  for (const name of Object.keys(item)) {
    const match = CUSTOMER_ATTR.exec(name);
    if (match) entries.add(`${match[2]}${match[3]}`);
  }
  const days: CustomerDay[] = [];
  for (const entry of entries) {
    const day = entry.slice(0, 2);
    const code = entry.slice(2);
    const orders = numberAt(item, Attr.customerOrders(day, code));
    const netCents = numberAt(item, Attr.customerNetCents(day, code));
    const loyaltyOrders = numberAt(item, Attr.customerLoyaltyOrders(day, code));
    days.push({
      date: `${month}-${day}`,
      locationId: labelAt(item, Attr.locationLabel(code)),
      orders,
      netCents,
      loyaltyOrders,
    });
  }
  return days;
}

function breakdown(
  item: AggregateItem,
  pattern: RegExp,
  prefix: 'c' | 'h',
  nameOf: (code: string) => string,
): Record<string, BreakdownFigures> {
  const codes = new Set<string>();
  for (const name of Object.keys(item)) {
    const match = pattern.exec(name);
    if (match?.[1] !== undefined) codes.add(match[1]);
  }
  const result: Record<string, BreakdownFigures> = {};
  for (const code of [...codes].sort(byText)) {
    const figures = {
      orders: numberAt(item, `${prefix}${code}o`),
      items: numberAt(item, `${prefix}${code}i`),
      netCents: numberAt(item, `${prefix}${code}n`),
    };
    if (figures.orders === 0 && figures.items === 0 && figures.netCents === 0) continue;
    result[nameOf(code)] = figures;
  }
  return result;
}

/**
 * A customer's days by date and location, the entries of one date and location (from the parts of
 * a month) added up, and days that add up to nothing left out.
 */
function sumSameDays(days: CustomerDay[]): CustomerDay[] {
  days.sort((a, b) => byText(a.date, b.date) || byText(a.locationId, b.locationId));
  const result: CustomerDay[] = [];
  for (const day of days) {
    const last = result[result.length - 1];
    if (last !== undefined && last.date === day.date && last.locationId === day.locationId) {
      result[result.length - 1] = {
        ...last,
        orders: last.orders + day.orders,
        netCents: last.netCents + day.netCents,
        loyaltyOrders: last.loyaltyOrders + day.loyaltyOrders,
      };
    } else {
      result.push(day);
    }
  }
  return result.filter((day) => day.orders !== 0 || day.netCents !== 0 || day.loyaltyOrders !== 0);
}

/** The figures of a location-day or chain-day item (its date, totals and breakdowns). */
export function dayFigures(item: AggregateItem): Omit<LocationDay, 'locationId'> {
  return {
    date: item.sk.slice(KeyPrefix.Day.length),
    orders: numberAt(item, Attr.orders),
    items: numberAt(item, Attr.items),
    netCents: numberAt(item, Attr.netCents),
    grossCents: numberAt(item, Attr.grossCents),
    discountCents: numberAt(item, Attr.discountCents),
    discountedOrders: numberAt(item, Attr.discountedOrders),
    discountedItems: numberAt(item, Attr.discountedItems),
    discountedNetCents: numberAt(item, Attr.discountedNetCents),
    discountedGrossCents: numberAt(item, Attr.discountedGrossCents),
    guestOrders: numberAt(item, Attr.guestOrders),
    guestNetCents: numberAt(item, Attr.guestNetCents),
    byCategory: breakdown(item, CATEGORY_ATTR, 'c', (code) => labelAt(item, Attr.categoryLabel(code))),
    byHour: breakdown(item, HOUR_ATTR, 'h', (hour) => hour),
  };
}

function locationDay(item: AggregateItem): LocationDay | null {
  if (numberAt(item, Attr.orders) === 0) return null;
  return { locationId: item.pk.slice(KeyPrefix.Location.length), ...dayFigures(item) };
}

/**
 * The marts' input from every aggregates item (a Scan's pages, in any order). Customer rollups
 * are `null`: the processors keep every day, and nothing folds days before a horizon yet (README,
 * "Customer history is kept whole").
 *
 * @example
 * const { customers, locationDays } = itemsToMartInput(scannedItems);
 */
export function itemsToMartInput(items: Iterable<AggregateItem>): MartInput {
  const daysByCustomer = new Map<string, CustomerDay[]>();
  const locationDays: LocationDay[] = [];
  for (const item of items) {
    const kind = itemKind(item);
    if (kind === ItemKind.CustomerMonth) {
      const customerId = item.pk.slice(KeyPrefix.Customer.length);
      const days = customerDays(item);
      const known = daysByCustomer.get(customerId);
      if (known) known.push(...days);
      else daysByCustomer.set(customerId, days);
    } else if (kind === ItemKind.LocationDay) {
      const day = locationDay(item);
      if (day !== null) locationDays.push(day);
    }
  }
  const customers: CustomerHistory[] = [];
  for (const customerId of [...daysByCustomer.keys()].sort(byText)) {
    const days = sumSameDays(daysByCustomer.get(customerId) ?? []);
    if (days.length > 0) customers.push({ customerId, rollup: null, days });
  }
  locationDays.sort((a, b) => byText(a.locationId, b.locationId) || byText(a.date, b.date));
  return { customers, locationDays };
}
