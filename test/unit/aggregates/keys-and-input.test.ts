import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderContribution } from '../../../aggregates/contribution.js';
import { applyDelta, contributionDeltas, type PlainItem } from '../../../aggregates/delta.js';
import {
  customerMonthKey,
  customerPartKey,
  ItemKind,
  itemId,
  itemKind,
  logicalItemKey,
  sequenceFromSortKey,
  sequenceSortKey,
  shardCode,
  shortCode,
} from '../../../aggregates/keys.js';
import { itemsToMartInput } from '../../../aggregates/mart-input.js';
import { emptyOrderState, mergeOrderEvent } from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  encodeOrderEvent,
  type OrderEvent,
  PoisonRecordError,
} from '../../../shared/schemas/order-event.js';
import { eventsArbitrary } from './generators.js';

describe('keys', () => {
  it('stored sequence numbers compare as strings exactly like the numbers', () => {
    const sequence = fc.bigInt({ min: 0n, max: 10n ** 60n });
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const [ka, kb] = [sequenceSortKey(a), sequenceSortKey(b)];
        expect(ka.length).toBe(kb.length);
        expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(a < b ? -1 : a > b ? 1 : 0);
        expect(sequenceFromSortKey(ka)).toBe(a);
      }),
    );
  });

  it('orders real Kinesis sequence numbers whose decimal strings would sort wrongly', () => {
    // Prepare: 9… < 10… as numbers, but '9' > '1' as text
    const [small, large] = ['9' + '0'.repeat(54), '1' + '0'.repeat(55)];
    // Act / Assess
    expect(small > large).toBe(true);
    expect(sequenceSortKey(small) < sequenceSortKey(large)).toBe(true);
  });

  it('rejects a sequence number too long for the fixed width', () => {
    expect(() => sequenceSortKey(10n ** 66n)).toThrow(RangeError);
  });

  it('codes shards and names shortly and stably', () => {
    expect(shardCode('shardId-000000000012')).toBe('12');
    expect(shortCode('Burgers')).toMatch(/^[0-9a-z]{8}$/);
    expect(shortCode('Burgers')).toBe(shortCode('Burgers'));
    expect(shortCode('Burgers')).not.toBe(shortCode('Drinks'));
    expect(itemKind({ pk: 'C#u1', sk: 'M#2023-08' })).toBe(ItemKind.CustomerMonth);
    expect(itemKind({ pk: 'L#r1', sk: 'D#2023-08-14' })).toBe(ItemKind.LocationDay);
    expect(itemKind({ pk: 'LOC', sk: 'r1' })).toBe(ItemKind.LocationTotals);
    expect(itemKind({ pk: 'ALL', sk: 'D#2023-08-14' })).toBe(ItemKind.ChainDay);
  });
});

describe('stream record', () => {
  it('round-trips every generated event', () => {
    fc.assert(
      fc.property(eventsArbitrary(4), (events) => {
        for (const event of events) expect(decodeOrderEvent(encodeOrderEvent(event))).toEqual(event);
      }),
    );
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{'), /not UTF-8 JSON/],
    ['wrong version', new TextEncoder().encode('{"v":3}'), /v: /],
    [
      'a negative price',
      new TextEncoder().encode(
        '{"v":1,"e":"x","o":"o1","L":[{"i":"a","r":"r","z":"UTC","t":0,"u":null,"y":false,"c":"C","p":-1,"q":1,"g":["f","h",1,1]}],"P":[]}',
      ),
      /L\.0\.p/,
    ],
  ])('reports %s as a poison record naming the field', (_, data, message) => {
    expect(() => decodeOrderEvent(data, '4959')).toThrow(PoisonRecordError);
    expect(() => decodeOrderEvent(data, '4959')).toThrow(message);
  });
});

describe('itemsToMartInput', () => {
  it('converts items into customer days and location days, to the cent', () => {
    // Prepare: one customer order with a discount; one guest order at another hour
    const lineage = { file: 'f', contentHash: 'h', row: 1, arrival: 1 };
    const orders: OrderEvent[] = [
      {
        eventId: 'e1',
        orderId: 'o1',
        lines: [
          {
            lineItemId: 'a',
            restaurantId: 'loc-1',
            timeZone: 'America/New_York',
            createdAtMs: Date.parse('2023-08-14T17:00:00Z'),
            userId: 'cust-1',
            isLoyalty: true,
            category: 'Burgers',
            unitPriceCents: 1000,
            quantity: 2,
            lineage,
          },
        ],
        options: [
          { lineItemId: 'a', groupName: 'Promo', optionName: 'X', priceCents: -300, quantity: 1, lineage },
        ],
      },
      {
        eventId: 'e2',
        orderId: 'o2',
        lines: [
          {
            lineItemId: 'a',
            restaurantId: 'loc-1',
            timeZone: 'America/New_York',
            createdAtMs: Date.parse('2023-08-14T23:30:00Z'),
            userId: null,
            isLoyalty: false,
            category: 'Drinks',
            unitPriceCents: 250,
            quantity: 1,
            lineage,
          },
        ],
        options: [],
      },
    ];
    const items = new Map<string, PlainItem>();
    for (const event of orders) {
      const state = mergeOrderEvent(emptyOrderState(event.orderId), event);
      for (const delta of contributionDeltas(null, orderContribution(state)).values()) {
        items.set(itemId(delta.key), applyDelta(items.get(itemId(delta.key)), delta));
      }
    }
    // Act
    const input = itemsToMartInput(items.values());
    // Assess
    expect(input.customers).toEqual([
      {
        customerId: 'cust-1',
        rollup: null,
        days: [{ date: '2023-08-14', locationId: 'loc-1', orders: 1, netCents: 1700, loyaltyOrders: 1 }],
      },
    ]);
    expect(input.locationDays).toEqual([
      {
        locationId: 'loc-1',
        date: '2023-08-14',
        orders: 2,
        items: 3,
        netCents: 1950,
        grossCents: 2250,
        discountCents: 300,
        discountedOrders: 1,
        discountedItems: 2,
        discountedNetCents: 1700,
        discountedGrossCents: 2000,
        guestOrders: 1,
        guestNetCents: 250,
        byCategory: {
          Burgers: { orders: 1, items: 2, netCents: 1700 },
          Drinks: { orders: 1, items: 1, netCents: 250 },
        },
        byHour: {
          '13': { orders: 1, items: 2, netCents: 1700 },
          '19': { orders: 1, items: 1, netCents: 250 },
        },
      },
    ]);
  });

  it('leaves out entries whose orders moved to another day', () => {
    // Prepare
    const item = {
      pk: 'C#u1',
      sk: 'M#2023-08',
      o14abcdefgh: 0,
      n14abcdefgh: 0,
      y14abcdefgh: 0,
      Labcdefgh: 'loc-1',
    };
    const day = { pk: 'L#loc-1', sk: 'D#2023-08-14', o: 0, n: 0, w0: '0' };
    // Act / Assess
    expect(itemsToMartInput([item, day])).toEqual({ customers: [], locationDays: [] });
  });

  it('adds up the parts of a customer month, and leaves out a day whose parts cancel out', () => {
    // Prepare: shard 0 holds two orders of the 14th and one of the 15th; shard 1 one more order of
    // the 14th and the reversal of the 15th's (the order moved shards after a reshard)
    const part0 = {
      pk: 'C#u1',
      sk: 'M#2023-08#0',
      o14abcdefgh: 2,
      n14abcdefgh: 1500,
      y14abcdefgh: 1,
      o15abcdefgh: 1,
      n15abcdefgh: 400,
      Labcdefgh: 'loc-1',
      w0: '1',
    };
    const part1 = {
      pk: 'C#u1',
      sk: 'M#2023-08#1',
      o14abcdefgh: 1,
      n14abcdefgh: 250,
      o15abcdefgh: -1,
      n15abcdefgh: -400,
      Labcdefgh: 'loc-1',
      w1: '2',
    };
    // Act
    const input = itemsToMartInput([part1, part0]);
    // Assess
    expect(input.customers).toEqual([
      {
        customerId: 'u1',
        rollup: null,
        days: [{ date: '2023-08-14', locationId: 'loc-1', orders: 3, netCents: 1750, loyaltyOrders: 1 }],
      },
    ]);
  });
});

describe('customer-month parts', () => {
  it('keys a part by its month and shard, and reads it back as the month', () => {
    const month = customerMonthKey('u-7', '2023-08-14');
    const part = customerPartKey(month, '3');
    expect(part).toEqual({ pk: 'C#u-7', sk: 'M#2023-08#3' });
    expect(itemKind(part)).toBe(ItemKind.CustomerMonth);
    expect(logicalItemKey(part)).toEqual(month);
    expect(logicalItemKey(month)).toEqual(month);
    expect(logicalItemKey({ pk: 'L#loc-1', sk: 'D#2023-08-14' })).toEqual({
      pk: 'L#loc-1',
      sk: 'D#2023-08-14',
    });
  });
});
