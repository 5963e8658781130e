/**
 * An independent computation of the aggregates items from the distinct rows of a set of order
 * events, written from CONTRACT.md §2 without the processor's model (order-state, contribution,
 * delta, batch). Only the item layout (keys and attribute names) is shared: that is what is compared.
 */
import {
  Attr,
  chainDayKey,
  customerMonthKey,
  locationDayKey,
  locationTotalsKey,
  logicalItemKey,
  shortCode,
} from '../../../aggregates/keys.js';
import { toLocalTime } from '../../../aggregates/time.js';
import type { EventLine, EventOption, Lineage, OrderEvent } from '../../../shared/schemas/order-event.js';

/** Items as `pk|sk` → attribute → value, counters ≠ 0 and the labels they need, nothing else. */
export type ItemTable = Map<string, Record<string, number | string>>;

const before = (a: Lineage, b: Lineage): boolean =>
  a.arrival !== b.arrival
    ? a.arrival < b.arrival
    : a.row !== b.row
      ? a.row < b.row
      : a.file !== b.file
        ? a.file < b.file
        : a.contentHash < b.contentHash;

/** Expected items for the distinct rows of `events` (duplicates and order of events do not matter). */
export function referenceItems(events: readonly OrderEvent[]): ItemTable {
  const linesByOrder = new Map<string, Map<string, EventLine>>();
  const optionsByOrder = new Map<string, Map<string, EventOption>>();
  for (const event of events) {
    const lines = linesByOrder.get(event.orderId) ?? new Map<string, EventLine>();
    linesByOrder.set(event.orderId, lines);
    for (const line of event.lines) {
      const kept = lines.get(line.lineItemId);
      if (!kept || before(line.lineage, kept.lineage)) lines.set(line.lineItemId, line);
    }
    const options = optionsByOrder.get(event.orderId) ?? new Map<string, EventOption>();
    optionsByOrder.set(event.orderId, options);
    for (const option of event.options) {
      const identity = `${option.lineItemId}\u0001${option.groupName}\u0001${option.optionName}`;
      const kept = options.get(identity);
      if (!kept || before(option.lineage, kept.lineage)) options.set(identity, option);
    }
  }

  const table: ItemTable = new Map();
  const bump = (key: { pk: string; sk: string }, name: string, value: number) => {
    const id = `${key.pk}|${key.sk}`;
    const item = table.get(id) ?? {};
    table.set(id, item);
    item[name] = ((item[name] as number | undefined) ?? 0) + value;
  };
  const label = (key: { pk: string; sk: string }, name: string, value: string) => {
    const id = `${key.pk}|${key.sk}`;
    const item = table.get(id) ?? {};
    table.set(id, item);
    item[name] = value;
  };

  for (const [orderId, lines] of linesByOrder) {
    const lineList = [...lines.values()];
    if (lineList.length === 0) continue;
    let first = lineList[0]!;
    for (const line of lineList) {
      if (
        line.createdAtMs < first.createdAtMs ||
        (line.createdAtMs === first.createdAtMs && before(line.lineage, first.lineage))
      ) {
        first = line;
      }
    }
    const options = [...(optionsByOrder.get(orderId)?.values() ?? [])].filter((option) =>
      lines.has(option.lineItemId),
    );
    let net = 0;
    let discount = 0;
    let items = 0;
    const categoryNet = new Map<string, number>();
    const categoryItems = new Map<string, number>();
    for (const line of lineList) {
      let revenue = line.unitPriceCents * line.quantity;
      for (const option of options) {
        if (option.lineItemId !== line.lineItemId) continue;
        revenue += option.priceCents * option.quantity;
        if (option.priceCents < 0) discount += -option.priceCents * option.quantity;
      }
      net += revenue;
      items += line.quantity;
      categoryNet.set(line.category, (categoryNet.get(line.category) ?? 0) + revenue);
      categoryItems.set(line.category, (categoryItems.get(line.category) ?? 0) + line.quantity);
    }
    const gross = net + discount;
    const discounted = discount > 0;
    const loyalty = lineList.some((line) => line.isLoyalty);
    const { localDate, hour } = toLocalTime(first.createdAtMs, first.timeZone);
    const hh = String(hour).padStart(2, '0');

    const totals = (key: { pk: string; sk: string }) => {
      bump(key, Attr.orders, 1);
      bump(key, Attr.items, items);
      bump(key, Attr.netCents, net);
      bump(key, Attr.grossCents, gross);
      bump(key, Attr.discountCents, discount);
      if (discounted) {
        bump(key, Attr.discountedOrders, 1);
        bump(key, Attr.discountedItems, items);
        bump(key, Attr.discountedNetCents, net);
        bump(key, Attr.discountedGrossCents, gross);
      }
      if (first.userId === null) {
        bump(key, Attr.guestOrders, 1);
        bump(key, Attr.guestNetCents, net);
      }
    };
    const breakdowns = (key: { pk: string; sk: string }) => {
      bump(key, Attr.hourOrders(hh), 1);
      bump(key, Attr.hourItems(hh), items);
      bump(key, Attr.hourNetCents(hh), net);
      for (const [category, revenue] of categoryNet) {
        const code = shortCode(category);
        bump(key, Attr.categoryOrders(code), 1);
        bump(key, Attr.categoryItems(code), categoryItems.get(category) ?? 0);
        bump(key, Attr.categoryNetCents(code), revenue);
        label(key, Attr.categoryLabel(code), category);
      }
    };
    totals(locationDayKey(first.restaurantId, localDate));
    breakdowns(locationDayKey(first.restaurantId, localDate));
    totals(chainDayKey(localDate));
    breakdowns(chainDayKey(localDate));
    totals(locationTotalsKey(first.restaurantId));
    if (first.userId !== null) {
      const key = customerMonthKey(first.userId, localDate);
      const code = shortCode(first.restaurantId);
      const day = localDate.slice(8);
      bump(key, Attr.customerOrders(day, code), 1);
      bump(key, Attr.customerNetCents(day, code), net);
      bump(key, Attr.customerLoyaltyOrders(day, code), loyalty ? 1 : 0);
      label(key, Attr.locationLabel(code), first.restaurantId);
    }
  }
  return normaliseTable(table);
}

/**
 * The parts of each customer month added up (`logicalItemKey`), as `pk|sk` → attributes; other
 * items as they are. Two parts that name one label differently are an error.
 */
export function mergeParts(
  items: Iterable<[string, Record<string, unknown>]>,
): Map<string, Record<string, unknown>> {
  const merged = new Map<string, Record<string, unknown>>();
  for (const [id, item] of items) {
    const { pk, sk } = item;
    // The reference's own items carry no key attributes: their id is their key.
    const key = typeof pk === 'string' && typeof sk === 'string' ? logicalItemKey({ pk, sk }) : null;
    const logicalId = key === null || key.sk === sk ? id : `${key.pk}|${key.sk}`;
    const known = merged.get(logicalId);
    if (known === undefined) {
      merged.set(logicalId, key === null ? item : { ...item, ...key });
      continue;
    }
    for (const [name, value] of Object.entries(item)) {
      if (name === 'pk' || name === 'sk' || /^w/.test(name)) continue;
      const current = known[name];
      if (typeof value === 'number') known[name] = (typeof current === 'number' ? current : 0) + value;
      else if (current === undefined) known[name] = value;
      else if (current !== value)
        throw new Error(`parts of ${logicalId} disagree on ${name}: ${String(current)} / ${String(value)}`);
    }
  }
  return merged;
}

/**
 * Items as stored → the comparable form: customer-month parts added up, high-water marks dropped,
 * counters that are 0 dropped, labels kept only while a counter of their code is non-zero, empty
 * items dropped.
 */
export function normaliseTable(items: Iterable<[string, Record<string, unknown>]>): ItemTable {
  const result: ItemTable = new Map();
  for (const [id, item] of mergeParts(items)) {
    const counters: Record<string, number> = {};
    for (const [name, value] of Object.entries(item)) {
      if (name === 'pk' || name === 'sk' || /^w/.test(name)) continue;
      if (typeof value === 'number' && value !== 0) counters[name] = value;
    }
    if (Object.keys(counters).length === 0) continue;
    const normal: Record<string, number | string> = { ...counters };
    for (const [name, value] of Object.entries(item)) {
      const match = /^([KL])([0-9a-z]{8})$/.exec(name);
      if (!match || typeof value !== 'string') continue;
      const code = match[2]!;
      const used = Object.keys(counters).some((counter) =>
        match[1] === 'K' ? counter.startsWith(`c${code}`) : counter.endsWith(code),
      );
      if (used) normal[name] = value;
    }
    result.set(id, normal);
  }
  return result;
}
