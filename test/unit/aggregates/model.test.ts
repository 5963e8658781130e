import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchRecord, nextOwnedItem, owedDelta, planBatch } from '../../../aggregates/batch.js';
import { orderContribution } from '../../../aggregates/contribution.js';
import {
  applyDelta,
  contributionDeltas,
  deltaCounters,
  type ItemDelta,
  LabelCollisionError,
  mergeDeltas,
  type PlainItem,
} from '../../../aggregates/delta.js';
import { ItemKind, itemId, itemKind, sequenceSortKey } from '../../../aggregates/keys.js';
import {
  decodeOrderState,
  emptyOrderState,
  encodeOrderState,
  mergeOrderEvent,
  type OrderState,
  sameOrderState,
} from '../../../aggregates/order-state.js';
import type { EventLine, EventOption, OrderEvent } from '../../../shared/schemas/order-event.js';
import { deliveryArbitrary, eventsArbitrary } from './generators.js';
import { normaliseTable, referenceItems } from './reference.js';

const lineage = (row: number, arrival = 1) => ({ file: 'f.csv', contentHash: 'h', row, arrival });
const line = (overrides: Partial<EventLine> & Pick<EventLine, 'lineItemId'>): EventLine => ({
  restaurantId: 'loc-1',
  timeZone: 'America/New_York',
  createdAtMs: Date.parse('2023-08-14T17:03:12.345Z'),
  userId: 'cust-1',
  isLoyalty: false,
  category: 'Burgers',
  unitPriceCents: 1000,
  quantity: 1,
  lineage: lineage(1),
  ...overrides,
});
const option = (overrides: Partial<EventOption> & Pick<EventOption, 'lineItemId'>): EventOption => ({
  groupName: 'Size',
  optionName: 'Large',
  priceCents: 150,
  quantity: 1,
  lineage: lineage(1),
  ...overrides,
});
const event = (
  orderId: string,
  lines: EventLine[],
  options: EventOption[] = [],
  eventId = 'e',
): OrderEvent => ({
  eventId,
  orderId,
  lines,
  options,
});

function foldAll(events: readonly OrderEvent[]): Map<string, OrderState> {
  const states = new Map<string, OrderState>();
  for (const e of events) {
    states.set(e.orderId, mergeOrderEvent(states.get(e.orderId) ?? emptyOrderState(e.orderId), e));
  }
  return states;
}

function applyAll(items: Map<string, PlainItem>, deltas: Iterable<ItemDelta>): void {
  for (const delta of deltas) {
    const id = itemId(delta.key);
    items.set(id, applyDelta(items.get(id), delta));
  }
}

const asTable = (items: Map<string, PlainItem>) =>
  normaliseTable(
    [...items.values()].map((item): [string, Record<string, unknown>] => [`${item.pk}|${item.sk}`, item]),
  );

describe('order state', () => {
  it('merging is idempotent and commutative for any delivery of an order', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(3).chain((events) => fc.tuple(fc.constant(events), deliveryArbitrary(events))),
        ([events, delivered]) => {
          // Act
          const once = foldAll(events);
          const again = foldAll(delivered);
          // Assess
          expect([...again.keys()].sort()).toEqual([...once.keys()].sort());
          for (const [orderId, state] of once) expect(sameOrderState(again.get(orderId)!, state)).toBe(true);
        },
      ),
    );
  });

  it('round-trips through the ledger text form', () => {
    fc.assert(
      fc.property(eventsArbitrary(3), (events) => {
        for (const state of foldAll(events).values()) {
          expect(sameOrderState(decodeOrderState(encodeOrderState(state)), state)).toBe(true);
        }
      }),
    );
  });

  it('returns the same state object for a duplicate event', () => {
    // Prepare
    const e = event('o1', [line({ lineItemId: 'a' })], [option({ lineItemId: 'a' })]);
    const state = mergeOrderEvent(emptyOrderState('o1'), e);
    // Act / Assess
    expect(mergeOrderEvent(state, e)).toBe(state);
  });
});

describe('order contribution (CONTRACT.md §2, by hand)', () => {
  it('computes net, gross, discount, items, categories, loyalty and the local hour', () => {
    // Prepare: 2 × $10.00 burger with a +$1.50 size and a −$2.00 coupon; a $3.00 drink; an option
    // of a line that never arrived.
    const state = mergeOrderEvent(
      emptyOrderState('o1'),
      event(
        'o1',
        [
          line({ lineItemId: 'a', quantity: 2, lineage: lineage(2) }),
          line({
            lineItemId: 'b',
            category: 'Drinks',
            unitPriceCents: 300,
            isLoyalty: true,
            createdAtMs: Date.parse('2023-08-15T03:59:00Z'),
            lineage: lineage(3),
          }),
        ],
        [
          option({ lineItemId: 'a', priceCents: 150 }),
          option({ lineItemId: 'a', groupName: 'Promo', optionName: 'Coupon', priceCents: -200 }),
          option({ lineItemId: 'zz', priceCents: -999 }),
        ],
      ),
    );
    // Act
    const contribution = orderContribution(state);
    // Assess: net = 2000 + 150 − 200 + 300 = 2250; gross = 2450; discount = 200; the earliest line
    // is 'a' at 13:03 New York time (EDT); 'b' at 23:59 NY the night before would win if earlier.
    expect(contribution).toMatchObject({
      restaurantId: 'loc-1',
      customerId: 'cust-1',
      localDate: '2023-08-14',
      hour: 13,
      isLoyalty: true,
      isDiscounted: true,
      items: 3,
      netCents: 2250,
      grossCents: 2450,
      discountCents: 200,
    });
    expect(contribution!.categories).toEqual([
      { category: 'Burgers', items: 2, netCents: 1950 },
      { category: 'Drinks', items: 1, netCents: 300 },
    ]);
  });

  it('takes location and customer from the earliest line, ties by file then row', () => {
    // Prepare
    const t = Date.parse('2023-08-14T12:00:00Z');
    const state = mergeOrderEvent(
      emptyOrderState('o1'),
      event('o1', [
        line({ lineItemId: 'a', createdAtMs: t, restaurantId: 'loc-late-file', lineage: lineage(1, 2) }),
        line({
          lineItemId: 'b',
          createdAtMs: t,
          restaurantId: 'loc-row-9',
          userId: null,
          lineage: lineage(9, 1),
        }),
        line({ lineItemId: 'c', createdAtMs: t + 1, restaurantId: 'loc-later', lineage: lineage(1, 1) }),
      ]),
    );
    // Act
    const contribution = orderContribution(state);
    // Assess
    expect(contribution?.restaurantId).toBe('loc-row-9');
    expect(contribution?.customerId).toBeNull();
  });

  it('is null while only options are known', () => {
    expect(
      orderContribution(
        mergeOrderEvent(emptyOrderState('o1'), event('o1', [], [option({ lineItemId: 'a' })])),
      ),
    ).toBeNull();
  });
});

describe('deltas', () => {
  it('a late discount option moves the order from full price to discounted, exactly', () => {
    // Prepare
    const first = mergeOrderEvent(emptyOrderState('o1'), event('o1', [line({ lineItemId: 'a' })]));
    const second = mergeOrderEvent(
      first,
      event('o1', [], [option({ lineItemId: 'a', priceCents: -250, lineage: lineage(1, 2) })]),
    );
    // Act
    const deltas = contributionDeltas(orderContribution(first), orderContribution(second));
    // Assess
    const day = deltaCounters(deltas.get(itemId({ pk: 'L#loc-1', sk: 'D#2023-08-14' }))!);
    expect(day).toMatchObject({ n: -250, d: 250, xo: 1, xi: 1, xn: 750, xg: 1000 });
    expect(day['o']).toBeUndefined();
    expect(day['g']).toBeUndefined();
  });

  it('a late earlier line moves the order to its date and hour', () => {
    // Prepare
    const first = mergeOrderEvent(emptyOrderState('o1'), event('o1', [line({ lineItemId: 'a' })]));
    const second = mergeOrderEvent(
      first,
      event('o1', [
        line({ lineItemId: 'b', createdAtMs: Date.parse('2023-08-13T23:30:00Z'), lineage: lineage(1, 2) }),
      ]),
    );
    // Act
    const deltas = contributionDeltas(orderContribution(first), orderContribution(second));
    // Assess
    expect(deltaCounters(deltas.get(itemId({ pk: 'L#loc-1', sk: 'D#2023-08-14' }))!)).toMatchObject({
      o: -1,
      n: -1000,
      h13o: -1,
    });
    expect(deltaCounters(deltas.get(itemId({ pk: 'L#loc-1', sk: 'D#2023-08-13' }))!)).toMatchObject({
      o: 1,
      n: 2000,
      h19o: 1,
    });
  });

  it('coalescing is associative and commutative', () => {
    const deltaSet = eventsArbitrary(4).map((events) => {
      const states = foldAll(events);
      return mergeDeltas(
        ...[...states.values()].map((state) => contributionDeltas(null, orderContribution(state))),
      );
    });
    fc.assert(
      fc.property(deltaSet, deltaSet, deltaSet, (a, b, c) => {
        const normal = (set: Map<string, ItemDelta>) =>
          [...set.entries()]
            .map(([id, delta]) => [id, Object.entries(deltaCounters(delta)).sort(), delta.labels])
            .sort();
        expect(normal(mergeDeltas(mergeDeltas(a, b), c))).toEqual(normal(mergeDeltas(a, mergeDeltas(b, c))));
        expect(normal(mergeDeltas(a, b))).toEqual(normal(mergeDeltas(b, a)));
      }),
    );
  });
});

describe('items one shard writes (customer-month parts)', () => {
  const part = (key: { pk: string; sk: string }) => ({ pk: key.pk, sk: `${key.sk}#0` });
  /** Every customer-month item of a plan, put as parts the way the flush puts them. */
  function putParts(items: Map<string, PlainItem>, plan: ReturnType<typeof planBatch>): number {
    let replayed = 0;
    for (const item of plan.items.values()) {
      if (itemKind(item.key) !== ItemKind.CustomerMonth) continue;
      const key = part(item.key);
      const next = nextOwnedItem(
        items.get(itemId(key)),
        item,
        key,
        'w0',
        plan.firstSequence,
        plan.lastSequence,
      );
      if (next.replayed) replayed++;
      if (next.item !== null) items.set(itemId(key), next.item);
    }
    return replayed;
  }
  const customerItems = (events: readonly OrderEvent[]) =>
    new Map([...referenceItems(events)].filter(([id]) => id.startsWith('C#')));

  it('any replay of a batch, from any point and with any boundaries, adds each record once', () => {
    fc.assert(
      fc.property(eventsArbitrary(6), fc.nat(), fc.integer({ min: 1, max: 6 }), (events, cut, size) => {
        // Prepare: a first attempt applied the records up to `cut`, then crashed before its checkpoint
        const records: BatchRecord[] = events.map((e, index) => ({ sequence: BigInt(index + 1), event: e }));
        const held = cut % (records.length + 1);
        const items = new Map<string, PlainItem>();
        const ledger = new Map<string, OrderState>();
        if (held > 0) putParts(items, planBatch(ledger, records.slice(0, held)));
        // Act: the replay from the start with other boundaries (the ledger was not written)
        for (let offset = 0; offset < records.length; offset += size) {
          const plan = planBatch(ledger, records.slice(offset, offset + size));
          putParts(items, plan);
          for (const [orderId, state] of plan.changedStates) ledger.set(orderId, state);
        }
        // Assess
        expect(asTable(items)).toEqual(customerItems(events));
      }),
    );
  });

  it('leaves a part that holds the whole batch alone, and moves the mark of one it changes', () => {
    // Prepare
    const records: BatchRecord[] = [
      { sequence: 5n, event: event('o1', [line({ lineItemId: 'a' })]) },
      { sequence: 9n, event: event('o2', [line({ lineItemId: 'a' })]) },
    ];
    const plan = planBatch(new Map(), records);
    const [item] = [...plan.items.values()].filter((entry) => itemKind(entry.key) === ItemKind.CustomerMonth);
    const key = part(item!.key);
    // Act
    const fresh = nextOwnedItem(undefined, item!, key, 'w0', 5n, 9n);
    const again = nextOwnedItem(fresh.item ?? undefined, item!, key, 'w0', 5n, 9n);
    // Assess
    expect(fresh.replayed).toBe(false);
    expect(fresh.item?.['w0']).toBe(sequenceSortKey(9n));
    expect(fresh.item?.sk).toBe(key.sk);
    expect(again).toEqual({ item: null, replayed: true });
  });

  it('refuses a part whose label names the code differently', () => {
    // Prepare
    const plan = planBatch(new Map(), [{ sequence: 1n, event: event('o1', [line({ lineItemId: 'a' })]) }]);
    const [item] = [...plan.items.values()].filter((entry) => itemKind(entry.key) === ItemKind.CustomerMonth);
    const key = part(item!.key);
    const fresh = nextOwnedItem(undefined, item!, key, 'w0', 1n, 1n).item!;
    const label = Object.keys(fresh).find((name) => /^L/.test(name))!;
    // Act / Assess
    expect(() =>
      nextOwnedItem({ ...fresh, [label]: 'another place', w0: undefined }, item!, key, 'w0', 1n, 1n),
    ).toThrow(LabelCollisionError);
  });
});

describe('batch folding', () => {
  it('any delivery split into any batches gives the items of one fold of the distinct rows', () => {
    const scenario = eventsArbitrary(8).chain((events) =>
      fc.tuple(
        fc.constant(events),
        deliveryArbitrary(events),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
      ),
    );
    fc.assert(
      fc.property(scenario, ([events, delivered, batchSizes]) => {
        // Prepare
        const records: BatchRecord[] = delivered.map((e, index) => ({
          sequence: BigInt(1000 + index * 7),
          event: e,
        }));
        const ledger = new Map<string, OrderState>();
        const items = new Map<string, PlainItem>();
        // Act
        let offset = 0;
        for (let batch = 0; offset < records.length; batch++) {
          const size = batchSizes[batch % batchSizes.length]!;
          const plan = planBatch(ledger, records.slice(offset, offset + size));
          applyAll(
            items,
            [...plan.items.values()].map((item) => owedDelta(item, null)),
          );
          for (const [orderId, state] of plan.changedStates) ledger.set(orderId, state);
          offset += size;
        }
        // Assess
        expect(asTable(items)).toEqual(referenceItems(events));
      }),
    );
  });

  it('owes exactly the steps after a high-water mark inside the batch', () => {
    fc.assert(
      fc.property(eventsArbitrary(5), fc.nat(), (events, cut) => {
        // Prepare
        const records: BatchRecord[] = events.map((e, index) => ({ sequence: BigInt(index + 1), event: e }));
        const hwm = BigInt(cut % (records.length + 1));
        const plan = planBatch(new Map(), records);
        const items = new Map<string, PlainItem>();
        const held = records.filter((record) => record.sequence <= hwm);
        if (held.length > 0) {
          applyAll(
            items,
            [...planBatch(new Map(), held).items.values()].map((item) => owedDelta(item, null)),
          );
        }
        // Act
        applyAll(
          items,
          [...plan.items.values()].map((item) => owedDelta(item, hwm)),
        );
        // Assess
        expect(asTable(items)).toEqual(referenceItems(events));
      }),
    );
  });
});
