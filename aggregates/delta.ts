/**
 * Deltas: what an order event changes in each aggregates item. A delta is data (counters to `ADD`
 * and labels to `SET`); merging deltas is associative and commutative, so a micro-batch's deltas
 * coalesce into one update per item whatever their order.
 */
import type { CategoryFigures, OrderContribution } from './contribution.js';
import {
  Attr,
  chainDayKey,
  customerMonthKey,
  type ItemKey,
  itemId,
  locationDayKey,
  locationTotalsKey,
  shortCode,
} from './keys.js';

/** The change of one item: signed integers to add, and labels (code → name) the item must carry. */
export interface ItemDelta {
  readonly key: ItemKey;
  readonly add: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** Deltas by `itemId(key)`. */
export type DeltaSet = ReadonlyMap<string, ItemDelta>;

/** Two names got the same short code: the aggregates would merge them, so nothing is written. */
export class LabelCollisionError extends Error {
  override name = 'LabelCollisionError';
  constructor(
    readonly key: ItemKey,
    readonly attribute: string,
    readonly names: readonly [string, string],
  ) {
    super(
      `label ${attribute} of item ${key.pk}/${key.sk} would name both ${JSON.stringify(names[0])} and ${JSON.stringify(names[1])}`,
    );
  }
}

/** A delta being summed in place: owned by the function that builds it, frozen by handing it out. */
interface MutableDelta {
  readonly key: ItemKey;
  readonly add: Record<string, number>;
  readonly labels: Record<string, string>;
}

function copyDelta(delta: ItemDelta): MutableDelta {
  return { key: delta.key, add: { ...delta.add }, labels: { ...delta.labels } };
}

/** Adds `delta` into `target`; a counter whose sum is 0 is removed (and comes back if a later delta moves it). */
function mergeInto(target: MutableDelta, delta: ItemDelta): void {
  const add = target.add;
  for (const name in delta.add) {
    const sum = (add[name] ?? 0) + delta.add[name]!;
    if (sum === 0) delete add[name];
    else add[name] = sum;
  }
  const labels = target.labels;
  for (const name in delta.labels) {
    const value = delta.labels[name]!;
    const existing = labels[name];
    if (existing !== undefined && existing !== value) {
      throw new LabelCollisionError(
        target.key,
        name,
        existing < value ? [existing, value] : [value, existing],
      );
    }
    labels[name] = value;
  }
}

/**
 * The sum of delta sets. Counters that cancel out are dropped; an item is kept even when all its
 * counters cancel (the caller decides whether such an item still needs a write).
 *
 * @example
 * const coalesced = mergeDeltas(deltasOfRecord1, deltasOfRecord2);
 */
export function mergeDeltas(...sets: readonly DeltaSet[]): Map<string, ItemDelta> {
  // Summed in place: a busy item gets hundreds of deltas, and copying its running sum for each
  // would make coalescing quadratic in the batch.
  const result = new Map<string, MutableDelta>();
  for (const set of sets) {
    for (const [id, delta] of set) {
      const current = result.get(id);
      if (current === undefined) result.set(id, copyDelta(delta));
      else mergeInto(current, delta);
    }
  }
  return result;
}

/** True when the delta changes no counter. */
export function isEmptyDelta(delta: ItemDelta): boolean {
  return Object.values(delta.add).every((value) => value === 0);
}

/** An aggregates item's key with its `itemId`, made once per item and reused by every order. */
interface KeyedItem {
  readonly key: ItemKey;
  readonly id: string;
}

const keyed = (key: ItemKey): KeyedItem => ({ key, id: itemId(key) });

/** Attribute names of a breakdown (an hour, a category): built once, since every order names them. */
interface BreakdownAttrs {
  readonly orders: string;
  readonly items: string;
  readonly netCents: string;
}

const HOUR_ATTRS: readonly BreakdownAttrs[] = Array.from({ length: 24 }, (_, hour) => {
  const code = String(hour).padStart(2, '0');
  return { orders: Attr.hourOrders(code), items: Attr.hourItems(code), netCents: Attr.hourNetCents(code) };
});

interface CategoryAttrs extends BreakdownAttrs {
  readonly label: string;
}

/** A customer-month entry's attribute names for one day of the month at one location. */
interface CustomerDayAttrs {
  readonly orders: string;
  readonly netCents: string;
  readonly loyaltyOrders: string;
}

/** Everything keyed by one location: its items and attribute names. */
interface LocationNames {
  readonly totals: KeyedItem;
  readonly days: Map<string, KeyedItem>;
  /** `L<code>`. */
  readonly label: string;
  /** By 2-digit day of month. */
  readonly customerDays: Map<string, CustomerDayAttrs>;
  readonly code: string;
}

/**
 * Names are derived from the few locations, categories and dates of a chain, and from its
 * customers; the bound only keeps a pathological input from growing the caches without end.
 */
const NAME_CACHE_LIMIT = 100_000;
const locationNames = new Map<string, LocationNames>();
const chainDays = new Map<string, KeyedItem>();
const categoryNames = new Map<string, CategoryAttrs>();
/** By customer, then `YYYY-MM`. */
const customerMonths = new Map<string, Map<string, KeyedItem>>();

function boundedSet<V>(cache: Map<string, V>, name: string, value: V): V {
  if (cache.size >= NAME_CACHE_LIMIT) cache.clear();
  cache.set(name, value);
  return value;
}

function namesOfLocation(restaurantId: string): LocationNames {
  const cached = locationNames.get(restaurantId);
  if (cached !== undefined) return cached;
  const code = shortCode(restaurantId);
  return boundedSet(locationNames, restaurantId, {
    totals: keyed(locationTotalsKey(restaurantId)),
    days: new Map(),
    label: Attr.locationLabel(code),
    customerDays: new Map(),
    code,
  });
}

function locationDay(location: LocationNames, restaurantId: string, localDate: string): KeyedItem {
  const cached = location.days.get(localDate);
  if (cached !== undefined) return cached;
  return boundedSet(location.days, localDate, keyed(locationDayKey(restaurantId, localDate)));
}

function chainDay(localDate: string): KeyedItem {
  return chainDays.get(localDate) ?? boundedSet(chainDays, localDate, keyed(chainDayKey(localDate)));
}

function customerMonth(customerId: string, localDate: string): KeyedItem {
  const month = localDate.slice(0, 7);
  let months = customerMonths.get(customerId);
  if (months === undefined) months = boundedSet(customerMonths, customerId, new Map<string, KeyedItem>());
  return months.get(month) ?? boundedSet(months, month, keyed(customerMonthKey(customerId, localDate)));
}

function customerDay(location: LocationNames, localDate: string): CustomerDayAttrs {
  const day = localDate.slice(8, 10);
  const cached = location.customerDays.get(day);
  if (cached !== undefined) return cached;
  return boundedSet(location.customerDays, day, {
    orders: Attr.customerOrders(day, location.code),
    netCents: Attr.customerNetCents(day, location.code),
    loyaltyOrders: Attr.customerLoyaltyOrders(day, location.code),
  });
}

function namesOfCategory(category: string): CategoryAttrs {
  const cached = categoryNames.get(category);
  if (cached !== undefined) return cached;
  const code = shortCode(category);
  return boundedSet(categoryNames, category, {
    orders: Attr.categoryOrders(code),
    items: Attr.categoryItems(code),
    netCents: Attr.categoryNetCents(code),
    label: Attr.categoryLabel(code),
  });
}

/**
 * One item's change as parallel lists: the form the batch fold keeps per record, because filling
 * arrays costs a fraction of adding properties to a fresh object (`ItemDelta` is its record form).
 * Counter names are distinct and their values non-zero; label names are distinct.
 */
export interface CompactDelta {
  readonly key: ItemKey;
  readonly names: readonly string[];
  readonly values: readonly number[];
  readonly labelNames: readonly string[];
  readonly labelValues: readonly string[];
}

interface CompactBuild {
  readonly key: ItemKey;
  readonly names: string[];
  readonly values: number[];
  readonly labelNames: string[];
  readonly labelValues: string[];
}

/**
 * Appends a counter. One contribution names each counter at most once (categories are distinct;
 * two categories with one code fail at their label below), so appending is summing.
 */
function add(item: CompactBuild, attribute: string, value: number): void {
  if (value === 0) return;
  item.names.push(attribute);
  item.values.push(value);
}

function label(item: CompactBuild, attribute: string, name: string): void {
  const index = item.labelNames.indexOf(attribute);
  if (index < 0) {
    item.labelNames.push(attribute);
    item.labelValues.push(name);
    return;
  }
  const existing = item.labelValues[index]!;
  if (existing !== name) {
    throw new LabelCollisionError(item.key, attribute, existing < name ? [existing, name] : [name, existing]);
  }
}

function itemOf(items: Map<string, CompactBuild>, target: KeyedItem): CompactBuild {
  let item = items.get(target.id);
  if (item === undefined) {
    item = { key: target.key, names: [], values: [], labelNames: [], labelValues: [] };
    items.set(target.id, item);
  }
  return item;
}

function addTotals(item: CompactBuild, order: OrderContribution, sign: number): void {
  add(item, Attr.orders, sign);
  add(item, Attr.items, sign * order.items);
  add(item, Attr.netCents, sign * order.netCents);
  add(item, Attr.grossCents, sign * order.grossCents);
  add(item, Attr.discountCents, sign * order.discountCents);
  if (order.isDiscounted) {
    add(item, Attr.discountedOrders, sign);
    add(item, Attr.discountedItems, sign * order.items);
    add(item, Attr.discountedNetCents, sign * order.netCents);
    add(item, Attr.discountedGrossCents, sign * order.grossCents);
  }
  if (order.customerId === null) {
    add(item, Attr.guestOrders, sign);
    add(item, Attr.guestNetCents, sign * order.netCents);
  }
}

function addBreakdowns(item: CompactBuild, order: OrderContribution, sign: number): void {
  const hour = HOUR_ATTRS[order.hour]!;
  add(item, hour.orders, sign);
  add(item, hour.items, sign * order.items);
  add(item, hour.netCents, sign * order.netCents);
  for (const [category, figures] of order.byCategory as ReadonlyMap<string, CategoryFigures>) {
    const names = namesOfCategory(category);
    add(item, names.orders, sign);
    add(item, names.items, sign * figures.items);
    add(item, names.netCents, sign * figures.netCents);
    label(item, names.label, category);
  }
}

/** The items of one contribution (with `sign`), by `itemId`, each counter named once. */
function contributionItems(order: OrderContribution, sign: number): Map<string, CompactBuild> {
  const items = new Map<string, CompactBuild>();
  const location = namesOfLocation(order.restaurantId);
  const locationDayItem = itemOf(items, locationDay(location, order.restaurantId, order.localDate));
  addTotals(locationDayItem, order, sign);
  addBreakdowns(locationDayItem, order, sign);
  const chainDayItem = itemOf(items, chainDay(order.localDate));
  addTotals(chainDayItem, order, sign);
  addBreakdowns(chainDayItem, order, sign);
  addTotals(itemOf(items, location.totals), order, sign);
  if (order.customerId !== null) {
    const customerItem = itemOf(items, customerMonth(order.customerId, order.localDate));
    const names = customerDay(location, order.localDate);
    add(customerItem, names.orders, sign);
    add(customerItem, names.netCents, sign * order.netCents);
    add(customerItem, names.loyaltyOrders, order.isLoyalty ? sign : 0);
    label(customerItem, location.label, order.restaurantId);
  }
  return items;
}

/** Adds `from`'s counters and labels into `into` (a sum of two contributions; zeros are kept for now). */
function combine(into: CompactBuild, from: CompactBuild): void {
  for (let index = 0; index < from.names.length; index++) {
    const name = from.names[index]!;
    const at = into.names.indexOf(name);
    if (at < 0) {
      into.names.push(name);
      into.values.push(from.values[index]!);
    } else {
      into.values[at]! += from.values[index]!;
    }
  }
  for (let index = 0; index < from.labelNames.length; index++)
    label(into, from.labelNames[index]!, from.labelValues[index]!);
}

/** Drops the counters that cancelled out; `undefined` when none is left. */
function withoutZeros(item: CompactBuild): CompactDelta | undefined {
  if (!item.values.includes(0)) return item;
  const names: string[] = [];
  const values: number[] = [];
  for (let index = 0; index < item.names.length; index++) {
    if (item.values[index] === 0) continue;
    names.push(item.names[index]!);
    values.push(item.values[index]!);
  }
  if (names.length === 0) return undefined;
  return { key: item.key, names, values, labelNames: item.labelNames, labelValues: item.labelValues };
}

/**
 * `contributionDeltas` in compact form, for the batch fold. Same items, counters and labels, and
 * the same `LabelCollisionError`s.
 */
export function compactContributionDeltas(
  before: OrderContribution | null,
  after: OrderContribution | null,
): Map<string, CompactDelta> {
  if (after === null) return before === null ? new Map() : contributionItems(before, -1);
  const items = contributionItems(after, 1);
  if (before === null) return items;
  const removed = contributionItems(before, -1);
  for (const [id, item] of removed) {
    const current = items.get(id);
    if (current === undefined) items.set(id, item);
    else combine(current, item);
  }
  const result = new Map<string, CompactDelta>();
  for (const [id, item] of items) {
    const kept = withoutZeros(item);
    if (kept !== undefined) result.set(id, kept);
  }
  return result;
}

/** The record form of a compact delta. */
export function expandDelta(delta: CompactDelta): ItemDelta {
  const add: Record<string, number> = {};
  for (let index = 0; index < delta.names.length; index++) add[delta.names[index]!] = delta.values[index]!;
  const labels: Record<string, string> = {};
  for (let index = 0; index < delta.labelNames.length; index++)
    labels[delta.labelNames[index]!] = delta.labelValues[index]!;
  return { key: delta.key, add, labels };
}

/**
 * The sum of compact deltas of one item (with `key`), as `mergeDeltas` would coalesce their record
 * forms: a counter that sums to 0 is dropped, a label named twice differently throws.
 */
export function sumCompactDeltas(key: ItemKey, deltas: readonly CompactDelta[]): ItemDelta {
  if (deltas.length === 0) return { key, add: {}, labels: {} };
  if (deltas.length === 1) return expandDelta(deltas[0]!);
  // A Map keeps insertion order like an object does (no name is an array index), and its get/set
  // cost a fraction of a keyed store on a fresh object.
  const sums = new Map<string, number>();
  const labels: Record<string, string> = {};
  for (const delta of deltas) {
    for (let index = 0; index < delta.names.length; index++) {
      const name = delta.names[index]!;
      const sum = (sums.get(name) ?? 0) + delta.values[index]!;
      if (sum === 0) sums.delete(name);
      else sums.set(name, sum);
    }
    for (let index = 0; index < delta.labelNames.length; index++) {
      const name = delta.labelNames[index]!;
      const value = delta.labelValues[index]!;
      const existing = labels[name];
      if (existing !== undefined && existing !== value) {
        throw new LabelCollisionError(key, name, existing < value ? [existing, value] : [value, existing]);
      }
      labels[name] = value;
    }
  }
  const add: Record<string, number> = {};
  for (const [name, sum] of sums) add[name] = sum;
  return { key, add, labels };
}

/**
 * The exact change of every item when an order's contribution goes from `before` to `after`
 * (`null` = contributes nothing). Items whose counters all cancel are left out.
 *
 * @example
 * const deltas = contributionDeltas(orderContribution(oldState), orderContribution(newState));
 */
export function contributionDeltas(
  before: OrderContribution | null,
  after: OrderContribution | null,
): Map<string, ItemDelta> {
  const result = new Map<string, ItemDelta>();
  for (const [id, delta] of compactContributionDeltas(before, after)) result.set(id, expandDelta(delta));
  return result;
}

/** An item as plain values: its key, counters and labels (high-water marks are the caller's). */
export type PlainItem = ItemKey & Record<string, unknown>;

/**
 * Applies a delta to an in-memory item, as DynamoDB's `ADD` and `SET` would (a missing counter
 * counts as 0). Returns a new item.
 */
export function applyDelta(item: PlainItem | undefined, delta: ItemDelta): PlainItem {
  const result: PlainItem = { ...(item ?? {}), pk: delta.key.pk, sk: delta.key.sk };
  for (const [name, value] of Object.entries(delta.add)) {
    const current = result[name];
    result[name] = (typeof current === 'number' ? current : 0) + value;
  }
  for (const [name, value] of Object.entries(delta.labels)) result[name] = value;
  return result;
}
