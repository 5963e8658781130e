/**
 * Generated order events for the property and integration tests: a few orders whose line and
 * option rows are spread over files (so amendments, late options and late earlier lines occur),
 * with instants around a DST change and across midnight.
 */
import fc from 'fast-check';
import type { EventLine, EventOption, OrderEvent } from '../../../shared/schemas/order-event.js';

export const LOCATION_ZONES: Readonly<Record<string, string>> = {
  'loc-east': 'America/New_York',
  'loc-west': 'America/Los_Angeles',
  'loc-uk': 'Europe/London',
};
const LOCATIONS = Object.keys(LOCATION_ZONES);
const CUSTOMERS = [null, 'cust-a', 'cust-b', 'cust-c', '=cust-d'] as const;
const CATEGORIES = ['Burgers', 'Drinks', 'Uncategorized', 'Sides, large'] as const;
/** 2023-03-12T05:00Z: New York springs forward two hours later. */
const BASE_MS = Date.UTC(2023, 2, 12, 5, 0, 0);
/** Files per generated data set. */
export const FILE_COUNT = 3;

interface RowDraft {
  readonly files: readonly number[];
}

interface LineDraft extends RowDraft {
  readonly location: string;
  readonly minutes: number;
  readonly customer: string | null;
  readonly loyalty: boolean;
  readonly category: string;
  readonly priceCents: number;
  readonly quantity: number;
}

interface OptionDraft extends RowDraft {
  /** Index into the order's lines; past the end = a line that never arrives. */
  readonly line: number;
  readonly group: string;
  readonly name: string;
  readonly priceCents: number;
  readonly quantity: number;
}

const files = fc.uniqueArray(fc.integer({ min: 0, max: FILE_COUNT - 1 }), { minLength: 1, maxLength: 2 });

const lineDraft: fc.Arbitrary<LineDraft> = fc.record({
  files,
  location: fc.constantFrom(...LOCATIONS),
  minutes: fc.integer({ min: 0, max: 60 * 60 }),
  customer: fc.constantFrom(...CUSTOMERS),
  loyalty: fc.boolean(),
  category: fc.constantFrom(...CATEGORIES),
  priceCents: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.constant(500_000)),
  quantity: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(500)),
});

const optionDraft: fc.Arbitrary<OptionDraft> = fc.record({
  files,
  line: fc.integer({ min: 0, max: 4 }),
  group: fc.constantFrom('Size', 'Promo'),
  name: fc.constantFrom('Large', 'Coupon', 'Extra'),
  priceCents: fc.integer({ min: -800, max: 400 }),
  quantity: fc.integer({ min: 1, max: 3 }),
});

export interface OrderDraft {
  readonly lines: readonly LineDraft[];
  readonly options: readonly OptionDraft[];
}

export const orderDraft: fc.Arbitrary<OrderDraft> = fc.record({
  lines: fc.array(lineDraft, { minLength: 1, maxLength: 4 }),
  options: fc.array(optionDraft, { maxLength: 4 }),
});

/** Orders → one event per (order, file), rows numbered per file in generation order. */
export function eventsFromDrafts(orders: readonly OrderDraft[], orderPrefix = 'order'): OrderEvent[] {
  const rowCounters = Array.from({ length: FILE_COUNT }, () => 0);
  const events = new Map<string, { lines: EventLine[]; options: EventOption[] }>();
  const eventOf = (orderId: string, file: number) => {
    const id = `${orderId}@f${file}`;
    let event = events.get(id);
    if (event === undefined) {
      event = { lines: [], options: [] };
      events.set(id, event);
    }
    return event;
  };
  const lineage = (file: number) => ({
    file: `folder/f${file}.csv`,
    contentHash: `hash-${file}`,
    row: ++rowCounters[file]!,
    arrival: file + 1,
  });
  orders.forEach((order, index) => {
    const orderId = `${orderPrefix}-${index}`;
    order.lines.forEach((draft, lineIndex) => {
      for (const file of draft.files) {
        eventOf(orderId, file).lines.push({
          lineItemId: `li-${lineIndex}`,
          restaurantId: draft.location,
          timeZone: LOCATION_ZONES[draft.location]!,
          createdAtMs: BASE_MS + draft.minutes * 60_000,
          userId: draft.customer,
          isLoyalty: draft.loyalty,
          category: draft.category,
          unitPriceCents: draft.priceCents,
          quantity: draft.quantity,
          lineage: lineage(file),
        });
      }
    });
    const seen = new Set<string>();
    for (const draft of order.options) {
      const identity = `${draft.line}/${draft.group}/${draft.name}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      for (const file of draft.files) {
        eventOf(orderId, file).options.push({
          lineItemId: `li-${draft.line}`,
          groupName: draft.group,
          optionName: draft.name,
          priceCents: draft.priceCents,
          quantity: draft.quantity,
          lineage: lineage(file),
        });
      }
    }
  });
  return [...events.entries()].map(([eventId, rows]) => ({
    eventId,
    orderId: eventId.slice(0, eventId.indexOf('@')),
    lines: rows.lines,
    options: rows.options,
  }));
}

/** A data set: distinct order events (several per order when its rows span files). */
export const eventsArbitrary = (maxOrders = 8): fc.Arbitrary<OrderEvent[]> =>
  fc.array(orderDraft, { minLength: 1, maxLength: maxOrders }).map((orders) => eventsFromDrafts(orders));

/**
 * What the stream delivers: every event at least once (some twice), in any order. `copies` and
 * `order` come from fast-check so failures shrink.
 */
export const deliveryArbitrary = (events: readonly OrderEvent[]): fc.Arbitrary<OrderEvent[]> =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 2 }), { minLength: events.length, maxLength: events.length }),
      fc.array(fc.nat(), { minLength: events.length * 2, maxLength: events.length * 2 }),
    )
    .map(([copies, keys]) => {
      const delivered: OrderEvent[] = [];
      events.forEach((event, index) => {
        for (let copy = 0; copy < (copies[index] ?? 1); copy++) delivered.push(event);
      });
      return delivered
        .map((event, index) => ({ event, key: keys[index] ?? 0, index }))
        .sort((a, b) => a.key - b.key || a.index - b.index)
        .map((entry) => entry.event);
    });

/** A reproducible data set of exactly `orders` orders. */
export function sampleEvents(orders: number, seed: number, orderPrefix = 'order'): OrderEvent[] {
  const drafts = fc.sample(fc.array(orderDraft, { minLength: orders, maxLength: orders }), {
    seed,
    numRuns: 1,
  })[0]!;
  return eventsFromDrafts(drafts, orderPrefix);
}
