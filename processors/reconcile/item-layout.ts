/**
 * Reads stored aggregates items (the layout documented in aggregates/keys.ts) into the business
 * fields of `aggregates-sql.ts`: short attribute names become `netCents`, `hour[17].orders`,
 * `category[Drinks].items`, `day[08][loc-03].orders`, with names taken from the item's own labels.
 * Written again here rather than imported, so that a layout mistake in the stream path cannot hide
 * itself by being read back the same way.
 *
 * Left out: high-water marks (`w…`, bookkeeping of the processors), labels once used for names, and
 * customer profile items (`C#…`/`P`, written back by compaction). Anything else the layout does not
 * know is kept as a field `(attribute <name>)`, so it shows up as a difference.
 */
import {
  breakdownFields,
  categoryField,
  customerDayField,
  customerDayFields,
  hourField,
  type TotalField,
} from './aggregates-sql.js';

/** One non-zero figure of one item, as both sides are compared. */
export interface AggregateField {
  readonly pk: string;
  readonly sk: string;
  readonly field: string;
  /** An integer in decimal, or the JSON of a value that is not one. */
  readonly value: string;
}

const totalAttributes: Readonly<Record<string, TotalField>> = {
  o: 'orders',
  i: 'items',
  n: 'netCents',
  g: 'grossCents',
  d: 'discountCents',
  xo: 'discountedOrders',
  xi: 'discountedItems',
  xn: 'discountedNetCents',
  xg: 'discountedGrossCents',
  go: 'guestOrders',
  gn: 'guestNetCents',
};

const figureOfSuffix: Readonly<Record<string, string>> = {
  o: breakdownFields[0],
  i: breakdownFields[1],
  n: breakdownFields[2],
};
const customerFigureOfPrefix: Readonly<Record<string, string>> = {
  o: customerDayFields[0],
  n: customerDayFields[1],
  y: customerDayFields[2],
};

const CATEGORY = /^c([0-9a-z]{8})([oin])$/;
const HOUR = /^h(\d\d)([oin])$/;
const CUSTOMER_DAY = /^([ony])(\d\d)([0-9a-z]{8})$/;
const HIGH_WATER_MARK = /^w/;
const CATEGORY_LABEL = /^K[0-9a-z]{8}$/;
const LOCATION_LABEL = /^L[0-9a-z]{8}$/;

export const StoredItemKind = {
  LocationTotals: 'location-totals',
  LocationDay: 'location-day',
  ChainDay: 'chain-day',
  CustomerMonth: 'customer-month',
  CustomerProfile: 'customer-profile',
  Unknown: 'unknown',
} as const;
export type StoredItemKind = (typeof StoredItemKind)[keyof typeof StoredItemKind];

/** What an item is, from its key alone. */
export function storedItemKind(pk: string, sk: string): StoredItemKind {
  if (pk === 'LOC') return StoredItemKind.LocationTotals;
  if (pk === 'ALL' && sk.startsWith('D#')) return StoredItemKind.ChainDay;
  if (pk.startsWith('L#') && sk.startsWith('D#')) return StoredItemKind.LocationDay;
  if (pk.startsWith('C#') && sk.startsWith('M#')) return StoredItemKind.CustomerMonth;
  if (pk.startsWith('C#') && sk === 'P') return StoredItemKind.CustomerProfile;
  return StoredItemKind.Unknown;
}

/** A counter as compared: zero is absent (an `ADD` that cancelled out leaves a 0 behind). */
function counterText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value === 0 ? null : String(value);
  if (typeof value === 'bigint') return value === 0n ? null : String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The name a label attribute gives, or a placeholder naming the code when the label is missing. */
function labelOf(item: Readonly<Record<string, unknown>>, attribute: string, code: string): string {
  const label = item[attribute];
  return typeof label === 'string' ? label : `?${code}`;
}

/**
 * The non-zero business fields of one stored item; `null` for an item reconcile does not compare
 * (a customer profile).
 *
 * @example
 * decodeStoredItem({ pk: 'L#loc-1', sk: 'D#2023-03-08', o: 2, n: 1250, h17o: 2, w0: '…' });
 * // [{ field: 'orders', value: '2' }, { field: 'netCents', value: '1250' }, { field: 'hour[17].orders', … }]
 */
export function decodeStoredItem(item: Readonly<Record<string, unknown>>): AggregateField[] | null {
  const pk = String(item['pk']);
  const storedSk = String(item['sk']);
  const kind = storedItemKind(pk, storedSk);
  // A customer month is stored in parts, one per shard (`M#YYYY-MM#<shard>`): each part's fields
  // are the month's, and `sumActualPartsSql` adds them up.
  const sk = kind === StoredItemKind.CustomerMonth ? storedSk.slice(0, 'M#YYYY-MM'.length) : storedSk;
  if (kind === StoredItemKind.CustomerProfile) return null;
  const isDay = kind === StoredItemKind.LocationDay || kind === StoredItemKind.ChainDay;
  const hasTotals = isDay || kind === StoredItemKind.LocationTotals;
  const fields: AggregateField[] = [];
  const push = (field: string, value: unknown): void => {
    const text = counterText(value);
    if (text !== null) fields.push({ pk, sk, field, value: text });
  };
  for (const [attribute, value] of Object.entries(item)) {
    if (attribute === 'pk' || attribute === 'sk') continue;
    if (kind !== StoredItemKind.Unknown && HIGH_WATER_MARK.test(attribute)) continue;
    const total = hasTotals ? totalAttributes[attribute] : undefined;
    if (total !== undefined) {
      push(total, value);
      continue;
    }
    if (isDay) {
      if (CATEGORY_LABEL.test(attribute)) continue;
      const hour = HOUR.exec(attribute);
      if (hour !== null) {
        push(hourField(hour[1]!, figureOfSuffix[hour[2]!]!), value);
        continue;
      }
      const category = CATEGORY.exec(attribute);
      if (category !== null) {
        const code = category[1]!;
        push(categoryField(labelOf(item, `K${code}`, code), figureOfSuffix[category[2]!]!), value);
        continue;
      }
    }
    if (kind === StoredItemKind.CustomerMonth) {
      if (LOCATION_LABEL.test(attribute)) continue;
      const entry = CUSTOMER_DAY.exec(attribute);
      if (entry !== null) {
        const code = entry[3]!;
        push(
          customerDayField(entry[2]!, labelOf(item, `L${code}`, code), customerFigureOfPrefix[entry[1]!]!),
          value,
        );
        continue;
      }
    }
    fields.push({ pk, sk, field: `(attribute ${attribute})`, value: JSON.stringify(value) ?? String(value) });
  }
  return fields;
}
