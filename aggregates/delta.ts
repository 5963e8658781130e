/**
 * Deltas: what an order event changes in each aggregates item. A delta is data (counters to `ADD`
 * and labels to `SET`); merging deltas is associative and commutative, so a micro-batch's deltas
 * coalesce into one update per item whatever their order.
 */
import type { OrderContribution } from './contribution.js';
import {
  Attr,
  chainDayKey,
  customerMonthKey,
  type ItemKey,
  itemId,
  locationDayKey,
  locationTotalsKey,
  ownedString,
  shortCode,
} from './keys.js';

/**
 * The change of one item: signed integers to add to counters, and labels (code → name) the item
 * must carry. Counters are parallel lists (`values[i]` is added to `names[i]`; names are distinct,
 * in no set order): building them costs a fraction of adding properties to a fresh object, which a
 * busy item's fifty to a hundred counters would turn into a dictionary store by store.
 */
export interface ItemDelta {
  readonly key: ItemKey;
  readonly names: readonly string[];
  readonly values: readonly number[];
  readonly labels: Readonly<Record<string, string>>;
}

/** A delta's counters as a record (name → value). */
export function deltaCounters(delta: ItemDelta): Record<string, number> {
  const counters: Record<string, number> = {};
  for (let index = 0; index < delta.names.length; index++)
    counters[delta.names[index]!] = delta.values[index]!;
  return counters;
}

/** Sums by counter name as a delta's parallel lists (Map order: first added first). */
function countersOf(sums: ReadonlyMap<string, number>): Counters {
  return { names: [...sums.keys()], values: [...sums.values()] };
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
  readonly sums: Map<string, number>;
  readonly labels: Record<string, string>;
}

/** Adds `delta` into `target`; a counter whose sum is 0 is removed (and comes back if a later delta moves it). */
function mergeInto(target: MutableDelta, delta: ItemDelta): void {
  const sums = target.sums;
  for (let index = 0; index < delta.names.length; index++) {
    const name = delta.names[index]!;
    const sum = (sums.get(name) ?? 0) + delta.values[index]!;
    if (sum === 0) sums.delete(name);
    else sums.set(name, sum);
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
  const merged = new Map<string, MutableDelta>();
  for (const set of sets) {
    for (const [id, delta] of set) {
      let current = merged.get(id);
      if (current === undefined) {
        current = { key: delta.key, sums: new Map(), labels: {} };
        merged.set(id, current);
      }
      mergeInto(current, delta);
    }
  }
  const result = new Map<string, ItemDelta>();
  for (const [id, { key, sums, labels }] of merged) result.set(id, { key, ...countersOf(sums), labels });
  return result;
}

/** True when the delta changes no counter. */
export function isEmptyDelta(delta: ItemDelta): boolean {
  return delta.values.every((value) => value === 0);
}

/** An aggregates item's key with its `itemId`, made once per item and reused by every order. */
export interface KeyedItem {
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
  readonly restaurantId: string;
  readonly totals: KeyedItem;
  readonly days: Map<string, LocationDayNames>;
  /** `L<code>`. */
  readonly label: string;
  readonly code: string;
  /** The labels of the location's entries in a customer-month item (frozen: shared by every order). */
  readonly customerLabels: Readonly<Record<string, string>>;
}

/** The items and attribute names that every order of one location on one local date names. */
export interface LocationDayNames {
  readonly locationDay: KeyedItem;
  readonly chainDay: KeyedItem;
  readonly totals: KeyedItem;
  /** `L<code>` of the location, labelling its entries in customer-month items. */
  readonly locationLabel: string;
  /** `{ [locationLabel]: restaurantId }`, frozen. */
  readonly customerLabels: Readonly<Record<string, string>>;
  /** The entry of this location and day of month in a customer-month item. */
  readonly customerDay: CustomerDayAttrs;
  /** `YYYY-MM` */
  readonly month: string;
}

/**
 * Names are derived from the few locations, categories and dates of a chain; the bound only keeps
 * a pathological input from growing the caches without end. Keys are `ownedString`s: a name read
 * from a record must not keep the record's text alive.
 */
const NAME_CACHE_LIMIT = 100_000;
const locationNames = new Map<string, LocationNames>();
const chainDays = new Map<string, KeyedItem>();
const categoryNames = new Map<string, CategoryAttrs>();

function boundedSet<V>(cache: Map<string, V>, name: string, value: V): V {
  if (cache.size >= NAME_CACHE_LIMIT) cache.clear();
  cache.set(name, value);
  return value;
}

function namesOfLocation(restaurantId: string): LocationNames {
  const cached = locationNames.get(restaurantId);
  if (cached !== undefined) return cached;
  const owned = ownedString(restaurantId);
  const code = shortCode(owned);
  const label = Attr.locationLabel(code);
  return boundedSet(locationNames, owned, {
    restaurantId: owned,
    totals: keyed(locationTotalsKey(owned)),
    days: new Map(),
    label,
    code,
    customerLabels: Object.freeze({ [label]: owned }),
  });
}

function chainDay(localDate: string): KeyedItem {
  return chainDays.get(localDate) ?? boundedSet(chainDays, localDate, keyed(chainDayKey(localDate)));
}

/**
 * The names of a location on a local date, made once and shared by every order of that day.
 *
 * @example
 * const names = namesOfLocationDay(order.restaurantId, order.localDate);
 */
export function namesOfLocationDay(restaurantId: string, localDate: string): LocationDayNames {
  const location = namesOfLocation(restaurantId);
  const cached = location.days.get(localDate);
  if (cached !== undefined) return cached;
  const date = ownedString(localDate);
  const dayOfMonth = date.slice(8, 10);
  return boundedSet(location.days, date, {
    locationDay: keyed(locationDayKey(location.restaurantId, date)),
    chainDay: chainDay(date),
    totals: location.totals,
    locationLabel: location.label,
    customerLabels: location.customerLabels,
    customerDay: {
      orders: Attr.customerOrders(dayOfMonth, location.code),
      netCents: Attr.customerNetCents(dayOfMonth, location.code),
      loyaltyOrders: Attr.customerLoyaltyOrders(dayOfMonth, location.code),
    },
    month: date.slice(0, 7),
  });
}

/**
 * A customer-month item, made for each order: a cache of tens of thousands of customers costs
 * more to look up (its entries are rarely in the processor's cache) than the key's three strings.
 */
function customerMonth(customerId: string, names: LocationDayNames): KeyedItem {
  return keyed(customerMonthKey(customerId, names.month));
}

function namesOfCategory(category: string): CategoryAttrs {
  const cached = categoryNames.get(category);
  if (cached !== undefined) return cached;
  const owned = ownedString(category);
  const code = shortCode(owned);
  return boundedSet(categoryNames, owned, {
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

/** A delta's counters being built. */
interface Counters {
  readonly names: string[];
  readonly values: number[];
}

interface CompactBuild extends Counters {
  readonly key: ItemKey;
  readonly labelNames: string[];
  readonly labelValues: string[];
}

/**
 * Appends a counter; a zero is left out. One contribution names each counter at most once
 * (categories are distinct; two categories with one code fail at their label below), and so does
 * a sum by figure, so appending is summing.
 */
function add(counters: Counters, attribute: string, value: number): void {
  if (value === 0) return;
  counters.names.push(attribute);
  counters.values.push(value);
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
  for (const figures of order.categories) {
    const names = namesOfCategory(figures.category);
    add(item, names.orders, sign);
    add(item, names.items, sign * figures.items);
    add(item, names.netCents, sign * figures.netCents);
    label(item, names.label, figures.category);
  }
}

/** The items of one contribution (with `sign`), by `itemId`, each counter named once. */
function contributionItems(order: OrderContribution, sign: number): Map<string, CompactBuild> {
  const items = new Map<string, CompactBuild>();
  const names = namesOfLocationDay(order.restaurantId, order.localDate);
  const locationDayItem = itemOf(items, names.locationDay);
  addTotals(locationDayItem, order, sign);
  addBreakdowns(locationDayItem, order, sign);
  const chainDayItem = itemOf(items, names.chainDay);
  addTotals(chainDayItem, order, sign);
  addBreakdowns(chainDayItem, order, sign);
  addTotals(itemOf(items, names.totals), order, sign);
  if (order.customerId !== null) {
    const customerItem = itemOf(items, customerMonth(order.customerId, names));
    const day = names.customerDay;
    add(customerItem, day.orders, sign);
    add(customerItem, day.netCents, sign * order.netCents);
    add(customerItem, day.loyaltyOrders, order.isLoyalty ? sign : 0);
    label(customerItem, names.locationLabel, order.restaurantId);
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

/** Which figures of an order's contribution an item holds. */
export const ContributionPart = {
  /** Totals with the hour and category breakdowns: location-day and chain-day items. */
  Day: 'day',
  /** Totals: location totals. */
  Totals: 'totals',
  /** The order's day-and-location entry: customer-month items. */
  Customer: 'customer',
} as const;
export type ContributionPart = (typeof ContributionPart)[keyof typeof ContributionPart];

/**
 * An order's contribution with its items resolved: what the batch fold keeps per record and order,
 * so that an item's change over a batch is summed from the contributions themselves, without a
 * delta object per record and item.
 */
export interface ResolvedContribution {
  readonly order: OrderContribution;
  readonly names: LocationDayNames;
  /** `null` for a guest order. */
  readonly customerMonth: KeyedItem | null;
}

/**
 * Resolves a contribution's items. Throws the `LabelCollisionError` that
 * `compactContributionDeltas` throws for it when two of its categories share a code.
 *
 * @example
 * const resolved = resolveContribution(orderContribution(state)!);
 */
export function resolveContribution(order: OrderContribution): ResolvedContribution {
  const names = namesOfLocationDay(order.restaurantId, order.localDate);
  if (order.categories.length > 1) assertDistinctCategoryCodes(order, names.locationDay.key);
  return {
    order,
    names,
    customerMonth: order.customerId === null ? null : customerMonth(order.customerId, names),
  };
}

/** Pairwise: an order names a category or three. */
function assertDistinctCategoryCodes(order: OrderContribution, key: ItemKey): void {
  const { categories } = order;
  for (let index = 1; index < categories.length; index++) {
    const category = categories[index]!.category;
    const attribute = namesOfCategory(category).label;
    for (let other = 0; other < index; other++) {
      const existing = categories[other]!.category;
      if (namesOfCategory(existing).label === attribute) {
        throw new LabelCollisionError(
          key,
          attribute,
          existing < category ? [existing, category] : [category, existing],
        );
      }
    }
  }
}

/**
 * One record's change of one item in the batch fold: its order's contribution added (`sign` 1) or
 * removed (−1) whole, the order being new to the item or leaving it, or any other change as a
 * compact delta. A whole contribution's step is made once per record and shared by its items.
 */
export interface FoldStep {
  /** The record's sequence number. */
  readonly sequence: bigint;
  /** `null` for a compact delta. */
  readonly contribution: ResolvedContribution | null;
  /** 1 or −1 for a whole contribution; 0 for a compact delta. */
  readonly sign: number;
  /** `null` for a whole contribution. */
  readonly delta: CompactDelta | null;
}

/**
 * The change of an item over `steps[start…end)`: `sumCompactDeltas` of the compact deltas the steps
 * give the item (a whole contribution step gives what `compactContributionDeltas` gives for it), so
 * the same counters, labels and `LabelCollisionError`s. Whole contributions, the common case, are
 * summed in place by figure; compact steps by counter name.
 *
 * @example
 * const owed = sumFoldSteps(item.key, ContributionPart.Day, steps, 0);
 */
export function sumFoldSteps(
  key: ItemKey,
  part: ContributionPart,
  steps: readonly FoldStep[],
  start: number,
  end: number = steps.length,
): ItemDelta {
  if (part === ContributionPart.Customer && start === end - 1) {
    const step = steps[start]!;
    if (step.contribution !== null) return customerEntry(key, step.contribution, step.sign);
  }
  const counters: Counters = { names: [], values: [] };
  const labels: Record<string, string> = {};
  const compactSums = new CompactSums(key, labels);
  if (part === ContributionPart.Customer)
    sumCustomerEntries(key, steps, start, end, counters, labels, compactSums);
  else sumDayFigures(key, part === ContributionPart.Day, steps, start, end, counters, labels, compactSums);
  compactSums.addInto(counters);
  return { key, names: counters.names, values: counters.values, labels };
}

/**
 * The compact steps of an item's sum, by counter name. Their labels are set in step order beside
 * the whole contributions' (a label is set once and only ever compared after, so the first
 * collision met is the one `sumCompactDeltas` meets). Costs no Map until a compact step comes.
 */
class CompactSums {
  private sums: Map<string, number> | undefined;

  constructor(
    private readonly key: ItemKey,
    private readonly labels: Record<string, string>,
  ) {}

  add(delta: CompactDelta): void {
    this.sums ??= new Map();
    const sums = this.sums;
    for (let index = 0; index < delta.names.length; index++) {
      const name = delta.names[index]!;
      sums.set(name, (sums.get(name) ?? 0) + delta.values[index]!);
    }
    for (let index = 0; index < delta.labelNames.length; index++)
      setLabel(this.key, this.labels, delta.labelNames[index]!, delta.labelValues[index]!);
  }

  /** Adds the sums into the whole contributions' counters; a counter that ends at 0 is dropped. */
  addInto(counters: Counters): void {
    if (this.sums === undefined) return;
    const { names, values } = counters;
    for (const [name, value] of this.sums) {
      const at = names.indexOf(name);
      if (at < 0) {
        add(counters, name, value);
        continue;
      }
      const sum = values[at]! + value;
      if (sum !== 0) values[at] = sum;
      else {
        names.splice(at, 1);
        values.splice(at, 1);
      }
    }
  }
}

/** A category's running sums in one item, with its attribute names. */
interface CategorySum {
  readonly category: string;
  readonly attrs: CategoryAttrs;
  orders: number;
  items: number;
  netCents: number;
}

const HOUR_FIGURES = 3;

/** Totals (and breakdowns) of day and location-totals items, as `addTotals` and `addBreakdowns` name them. */
function sumDayFigures(
  key: ItemKey,
  withBreakdowns: boolean,
  steps: readonly FoldStep[],
  start: number,
  end: number,
  counters: Counters,
  labels: Record<string, string>,
  compactSums: CompactSums,
): void {
  let orders = 0;
  let items = 0;
  let netCents = 0;
  let grossCents = 0;
  let discountCents = 0;
  let discountedOrders = 0;
  let discountedItems = 0;
  let discountedNetCents = 0;
  let discountedGrossCents = 0;
  let guestOrders = 0;
  let guestNetCents = 0;
  // By hour: orders, items, net cents.
  const hours: number[] | undefined = withBreakdowns
    ? new Array<number>(24 * HOUR_FIGURES).fill(0)
    : undefined;
  // A list: an item sees a dozen categories at most, and a scan of them costs less than a Map.
  const categories: CategorySum[] = [];
  for (let index = start; index < end; index++) {
    const step = steps[index]!;
    const contribution = step.contribution;
    if (contribution === null) {
      compactSums.add(step.delta!);
      continue;
    }
    const order = contribution.order;
    const sign = step.sign;
    orders += sign;
    items += sign * order.items;
    netCents += sign * order.netCents;
    grossCents += sign * order.grossCents;
    discountCents += sign * order.discountCents;
    if (order.isDiscounted) {
      discountedOrders += sign;
      discountedItems += sign * order.items;
      discountedNetCents += sign * order.netCents;
      discountedGrossCents += sign * order.grossCents;
    }
    if (order.customerId === null) {
      guestOrders += sign;
      guestNetCents += sign * order.netCents;
    }
    if (hours === undefined) continue;
    const at = order.hour * HOUR_FIGURES;
    hours[at]! += sign;
    hours[at + 1]! += sign * order.items;
    hours[at + 2]! += sign * order.netCents;
    for (const figures of order.categories) {
      const category = figures.category;
      let sum: CategorySum | undefined;
      for (const known of categories) {
        if (known.category !== category) continue;
        sum = known;
        break;
      }
      if (sum === undefined) {
        const attrs = namesOfCategory(category);
        setLabel(key, labels, attrs.label, category);
        sum = { category, attrs, orders: 0, items: 0, netCents: 0 };
        categories.push(sum);
      }
      sum.orders += sign;
      sum.items += sign * figures.items;
      sum.netCents += sign * figures.netCents;
    }
  }
  add(counters, Attr.orders, orders);
  add(counters, Attr.items, items);
  add(counters, Attr.netCents, netCents);
  add(counters, Attr.grossCents, grossCents);
  add(counters, Attr.discountCents, discountCents);
  add(counters, Attr.discountedOrders, discountedOrders);
  add(counters, Attr.discountedItems, discountedItems);
  add(counters, Attr.discountedNetCents, discountedNetCents);
  add(counters, Attr.discountedGrossCents, discountedGrossCents);
  add(counters, Attr.guestOrders, guestOrders);
  add(counters, Attr.guestNetCents, guestNetCents);
  if (hours === undefined) return;
  for (let hour = 0; hour < 24; hour++) {
    const attrs = HOUR_ATTRS[hour]!;
    const at = hour * HOUR_FIGURES;
    add(counters, attrs.orders, hours[at]!);
    add(counters, attrs.items, hours[at + 1]!);
    add(counters, attrs.netCents, hours[at + 2]!);
  }
  for (const sum of categories) {
    add(counters, sum.attrs.orders, sum.orders);
    add(counters, sum.attrs.items, sum.items);
    add(counters, sum.attrs.netCents, sum.netCents);
  }
}

/** One day-and-location entry's running sums in a customer-month item. */
interface CustomerEntrySum {
  readonly attrs: CustomerDayAttrs;
  orders: number;
  netCents: number;
  loyaltyOrders: number;
}

/**
 * A customer-month item's change by one whole contribution (most items of a batch: a customer
 * orders once or twice a month), as `sumCustomerEntries` gives it.
 */
function customerEntry(key: ItemKey, step: ResolvedContribution, sign: number): ItemDelta {
  const { order, names } = step;
  const attrs = names.customerDay;
  const counters: Counters = { names: [attrs.orders], values: [sign] };
  add(counters, attrs.netCents, sign * order.netCents);
  if (order.isLoyalty) add(counters, attrs.loyaltyOrders, sign);
  return { key, names: counters.names, values: counters.values, labels: names.customerLabels };
}

/** The entries of a customer-month item, as `contributionItems` names them. */
function sumCustomerEntries(
  key: ItemKey,
  steps: readonly FoldStep[],
  start: number,
  end: number,
  counters: Counters,
  labels: Record<string, string>,
  compactSums: CompactSums,
): void {
  // Entries by their orders attribute (the cached names may be rebuilt between two orders), in a
  // list: a customer has an order or two a month, and a Map per item would cost more than a scan.
  const entries: CustomerEntrySum[] = [];
  for (let index = start; index < end; index++) {
    const step = steps[index]!;
    const contribution = step.contribution;
    if (contribution === null) {
      compactSums.add(step.delta!);
      continue;
    }
    const { order, names } = contribution;
    const sign = step.sign;
    setLabel(key, labels, names.locationLabel, order.restaurantId);
    const attrs = names.customerDay;
    let entry: CustomerEntrySum | undefined;
    for (const known of entries) {
      if (known.attrs.orders !== attrs.orders) continue;
      entry = known;
      break;
    }
    if (entry === undefined) {
      entry = { attrs, orders: 0, netCents: 0, loyaltyOrders: 0 };
      entries.push(entry);
    }
    entry.orders += sign;
    entry.netCents += sign * order.netCents;
    if (order.isLoyalty) entry.loyaltyOrders += sign;
  }
  for (const entry of entries) {
    add(counters, entry.attrs.orders, entry.orders);
    add(counters, entry.attrs.netCents, entry.netCents);
    add(counters, entry.attrs.loyaltyOrders, entry.loyaltyOrders);
  }
}

/** Sets a label as `sumCompactDeltas` does: a second, different name for one attribute throws. */
function setLabel(key: ItemKey, labels: Record<string, string>, attribute: string, name: string): void {
  const existing = labels[attribute];
  if (existing === undefined) labels[attribute] = name;
  else if (existing !== name) {
    throw new LabelCollisionError(key, attribute, existing < name ? [existing, name] : [name, existing]);
  }
}

/** A compact delta with its labels as a record (its counter lists are shared). */
export function expandDelta(delta: CompactDelta): ItemDelta {
  const labels: Record<string, string> = {};
  for (let index = 0; index < delta.labelNames.length; index++)
    labels[delta.labelNames[index]!] = delta.labelValues[index]!;
  return { key: delta.key, names: delta.names, values: delta.values, labels };
}

/**
 * The sum of compact deltas of one item (with `key`), as `mergeDeltas` would coalesce their record
 * forms: a counter that sums to 0 is dropped, a label named twice differently throws.
 */
export function sumCompactDeltas(key: ItemKey, deltas: readonly CompactDelta[]): ItemDelta {
  if (deltas.length === 0) return { key, names: [], values: [], labels: {} };
  if (deltas.length === 1) return expandDelta(deltas[0]!);
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
  return { key, ...countersOf(sums), labels };
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
  for (let index = 0; index < delta.names.length; index++) {
    const name = delta.names[index]!;
    const current = result[name];
    result[name] = (typeof current === 'number' ? current : 0) + delta.values[index]!;
  }
  for (const [name, value] of Object.entries(delta.labels)) result[name] = value;
  return result;
}
