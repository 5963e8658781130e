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

function mergeItem(a: ItemDelta, b: ItemDelta): ItemDelta {
  const add: Record<string, number> = { ...a.add };
  for (const [name, value] of Object.entries(b.add)) {
    const sum = (add[name] ?? 0) + value;
    if (sum === 0) delete add[name];
    else add[name] = sum;
  }
  const labels: Record<string, string> = { ...a.labels };
  for (const [name, value] of Object.entries(b.labels)) {
    const existing = labels[name];
    if (existing !== undefined && existing !== value) {
      throw new LabelCollisionError(a.key, name, existing < value ? [existing, value] : [value, existing]);
    }
    labels[name] = value;
  }
  return { key: a.key, add, labels };
}

/**
 * The sum of delta sets. Counters that cancel out are dropped; an item is kept even when all its
 * counters cancel (the caller decides whether such an item still needs a write).
 *
 * @example
 * const coalesced = mergeDeltas(deltasOfRecord1, deltasOfRecord2);
 */
export function mergeDeltas(...sets: readonly DeltaSet[]): Map<string, ItemDelta> {
  const result = new Map<string, ItemDelta>();
  for (const set of sets) {
    for (const [id, delta] of set) {
      const current = result.get(id);
      result.set(
        id,
        current === undefined
          ? { key: delta.key, add: { ...delta.add }, labels: { ...delta.labels } }
          : mergeItem(current, delta),
      );
    }
  }
  return result;
}

/** True when the delta changes no counter. */
export function isEmptyDelta(delta: ItemDelta): boolean {
  return Object.values(delta.add).every((value) => value === 0);
}

class DeltaBuilder {
  readonly items = new Map<
    string,
    { key: ItemKey; add: Record<string, number>; labels: Record<string, string> }
  >();

  item(key: ItemKey) {
    const id = itemId(key);
    let item = this.items.get(id);
    if (item === undefined) {
      item = { key, add: {}, labels: {} };
      this.items.set(id, item);
    }
    return item;
  }

  add(key: ItemKey, attribute: string, value: number): void {
    if (value === 0) return;
    const item = this.item(key);
    item.add[attribute] = (item.add[attribute] ?? 0) + value;
  }

  label(key: ItemKey, attribute: string, name: string): void {
    const labels = this.item(key).labels;
    const existing = labels[attribute];
    if (existing !== undefined && existing !== name) {
      throw new LabelCollisionError(key, attribute, existing < name ? [existing, name] : [name, existing]);
    }
    labels[attribute] = name;
  }
}

function addTotals(builder: DeltaBuilder, key: ItemKey, order: OrderContribution, sign: number): void {
  const guest = order.customerId === null;
  builder.add(key, Attr.orders, sign);
  builder.add(key, Attr.items, sign * order.items);
  builder.add(key, Attr.netCents, sign * order.netCents);
  builder.add(key, Attr.grossCents, sign * order.grossCents);
  builder.add(key, Attr.discountCents, sign * order.discountCents);
  if (order.isDiscounted) {
    builder.add(key, Attr.discountedOrders, sign);
    builder.add(key, Attr.discountedItems, sign * order.items);
    builder.add(key, Attr.discountedNetCents, sign * order.netCents);
    builder.add(key, Attr.discountedGrossCents, sign * order.grossCents);
  }
  if (guest) {
    builder.add(key, Attr.guestOrders, sign);
    builder.add(key, Attr.guestNetCents, sign * order.netCents);
  }
}

function addBreakdowns(builder: DeltaBuilder, key: ItemKey, order: OrderContribution, sign: number): void {
  const hour = String(order.hour).padStart(2, '0');
  builder.add(key, Attr.hourOrders(hour), sign);
  builder.add(key, Attr.hourItems(hour), sign * order.items);
  builder.add(key, Attr.hourNetCents(hour), sign * order.netCents);
  for (const [category, figures] of order.byCategory as ReadonlyMap<string, CategoryFigures>) {
    const code = shortCode(category);
    builder.add(key, Attr.categoryOrders(code), sign);
    builder.add(key, Attr.categoryItems(code), sign * figures.items);
    builder.add(key, Attr.categoryNetCents(code), sign * figures.netCents);
    builder.label(key, Attr.categoryLabel(code), category);
  }
}

function addContribution(builder: DeltaBuilder, order: OrderContribution, sign: number): void {
  const locationDay = locationDayKey(order.restaurantId, order.localDate);
  addTotals(builder, locationDay, order, sign);
  addBreakdowns(builder, locationDay, order, sign);
  const chainDay = chainDayKey(order.localDate);
  addTotals(builder, chainDay, order, sign);
  addBreakdowns(builder, chainDay, order, sign);
  addTotals(builder, locationTotalsKey(order.restaurantId), order, sign);
  if (order.customerId !== null) {
    const key = customerMonthKey(order.customerId, order.localDate);
    const day = order.localDate.slice(8, 10);
    const code = shortCode(order.restaurantId);
    builder.add(key, Attr.customerOrders(day, code), sign);
    builder.add(key, Attr.customerNetCents(day, code), sign * order.netCents);
    builder.add(key, Attr.customerLoyaltyOrders(day, code), order.isLoyalty ? sign : 0);
    builder.label(key, Attr.locationLabel(code), order.restaurantId);
  }
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
  const builder = new DeltaBuilder();
  if (after !== null) addContribution(builder, after, 1);
  if (before !== null) addContribution(builder, before, -1);
  const result = new Map<string, ItemDelta>();
  for (const [id, item] of builder.items) {
    const add: Record<string, number> = {};
    for (const [name, value] of Object.entries(item.add)) if (value !== 0) add[name] = value;
    if (Object.keys(add).length > 0) result.set(id, { key: item.key, add, labels: item.labels });
  }
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
