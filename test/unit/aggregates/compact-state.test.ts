/**
 * The fold's compact representations against their definitions:
 * - an order's state keeps its rows in lists (no Map per order, the event's own lists when an order
 *   is first seen): per identity it holds the first accepted of every row delivered, whatever the
 *   delivery order, duplicates and list lengths (the scan and the keyed paths), and it never
 *   changes an event it was built from;
 * - the record reader hands out one string per recurring text (locations, zones, files, option
 *   names, customers): records drawn from a small pool of look-alike texts read the same as through
 *   JSON.parse and the schema, one after the other;
 * - the ledger text of such a state is byte for byte what the Map-based state wrote.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareLineage,
  decodeOrderState,
  emptyOrderState,
  encodeOrderState,
  mergeOrderEvent,
  type OrderState,
  optionKey,
} from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  decodeOrderEventBySchema,
  type EventLine,
  type EventOption,
  encodeOrderEvent,
  type Lineage,
  type OrderEvent,
} from '../../../shared/schemas/order-event.js';

const ORDER = 'order-1';

/** Files of one content each, so rows of one file are one source. */
const lineageOf = (file: number, row: number): Lineage => ({
  file: `exports/file-${file}.csv`,
  contentHash: `hash-${file}`,
  row,
  arrival: file,
});

/** Line rows of one order: identities from a pool of up to 40 (past the scan limit of 16). */
const lineRow: fc.Arbitrary<EventLine> = fc
  .record({
    id: fc.integer({ min: 0, max: 39 }),
    file: fc.integer({ min: 0, max: 2 }),
    row: fc.integer({ min: 1, max: 5 }),
    price: fc.integer({ min: 0, max: 3 }),
    quantity: fc.integer({ min: 1, max: 2 }),
  })
  .map(({ id, file, row, price, quantity }) => ({
    lineItemId: `line-${id}`,
    restaurantId: 'r1',
    timeZone: 'America/New_York',
    createdAtMs: 1_692_000_000_000 + id,
    userId: null,
    isLoyalty: false,
    category: 'Food',
    unitPriceCents: price,
    quantity,
    lineage: lineageOf(file, row),
  }));

const optionRow: fc.Arbitrary<EventOption> = fc
  .record({
    line: fc.integer({ min: 0, max: 5 }),
    group: fc.constantFrom('Size', 'Sauce', ''),
    name: fc.constantFrom('Large', 'BBQ', ''),
    file: fc.integer({ min: 0, max: 2 }),
    row: fc.integer({ min: 1, max: 5 }),
    price: fc.integer({ min: -2, max: 2 }),
  })
  .map(({ line, group, name, file, row, price }) => ({
    lineItemId: `line-${line}`,
    groupName: group,
    optionName: name,
    priceCents: price,
    quantity: 1,
    lineage: lineageOf(file, row),
  }));

const eventDrafts = fc.array(
  fc.record({
    lines: fc.array(lineRow, { maxLength: 24 }),
    options: fc.array(optionRow, { maxLength: 8 }),
  }),
  { minLength: 1, maxLength: 4 },
);

const eventsOfOrder: fc.Arbitrary<OrderEvent[]> = eventDrafts.map((drafts) =>
  drafts.map((draft, index): OrderEvent => ({ eventId: `e${index}`, orderId: ORDER, ...draft })),
);

/** The definition: per identity, the row that comes first by lineage, then by its JSON. */
function firstAcceptedRows<T extends { readonly lineage: Lineage }>(
  rows: readonly T[],
  identity: (row: T) => string,
): Map<string, T> {
  const first = new Map<string, T>();
  for (const row of rows) {
    const key = identity(row);
    const current = first.get(key);
    if (current === undefined) first.set(key, row);
    else {
      const byLineage = compareLineage(row.lineage, current.lineage);
      if (byLineage < 0 || (byLineage === 0 && JSON.stringify(row) < JSON.stringify(current)))
        first.set(key, row);
    }
  }
  return first;
}

const byIdentity =
  <T>(identity: (row: T) => string) =>
  (a: T, b: T): number =>
    identity(a) < identity(b) ? -1 : identity(a) > identity(b) ? 1 : 0;

const lineIdentity = (line: EventLine): string => line.lineItemId;

function fold(delivered: readonly OrderEvent[]): OrderState {
  return delivered.reduce((state, event) => mergeOrderEvent(state, event), emptyOrderState(ORDER));
}

describe('an order state in lists', () => {
  it('holds, per identity, the first accepted of every row delivered, in any order', () => {
    fc.assert(
      fc.property(
        eventsOfOrder.chain((all) =>
          fc.tuple(fc.constant(all), fc.shuffledSubarray(all, { minLength: all.length })),
        ),
        ([inOrder, shuffled]) => {
          // Prepare
          const rows = inOrder.flatMap((event) => event.lines);
          const options = inOrder.flatMap((event) => event.options);

          // Act
          const state = fold([...shuffled, inOrder[0]!]);

          // Assess
          const expectedLines = [...firstAcceptedRows(rows, lineIdentity).values()].sort(
            byIdentity(lineIdentity),
          );
          const expectedOptions = [...firstAcceptedRows(options, optionKey).values()].sort(
            byIdentity(optionKey),
          );
          expect([...state.lines].sort(byIdentity(lineIdentity))).toEqual(expectedLines);
          expect([...state.options].sort(byIdentity(optionKey))).toEqual(expectedOptions);
          expect(new Set(state.lines.map(lineIdentity)).size).toBe(state.lines.length);
          expect(new Set(state.options.map(optionKey)).size).toBe(state.options.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps an identity in its place and adds new identities last, as a Map keeps its keys', () => {
    fc.assert(
      fc.property(eventsOfOrder, (delivered) => {
        // Prepare: one source only, so every merge takes the plain union.
        const oneSource = delivered.map((event) => ({
          ...event,
          lines: event.lines.map((line) => ({ ...line, lineage: lineageOf(0, line.lineage.row) })),
          options: event.options.map((option) => ({ ...option, lineage: lineageOf(0, option.lineage.row) })),
        }));
        const firstSeen = [...new Set(oneSource.flatMap((event) => event.lines.map(lineIdentity)))];

        // Act
        const state = fold(oneSource);

        // Assess
        expect(state.lines.map(lineIdentity)).toEqual(firstSeen);
      }),
      { numRuns: 200 },
    );
  });

  it('never changes the events it is built from', () => {
    fc.assert(
      fc.property(eventsOfOrder, (delivered) => {
        // Prepare
        const before = structuredClone(delivered);

        // Act
        fold([...delivered, ...delivered.slice().reverse()]);

        // Assess
        expect(delivered).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  it("is the event's own lists when an order is first seen in one event", () => {
    // Prepare
    const event: OrderEvent = {
      eventId: 'e1',
      orderId: ORDER,
      lines: [
        { ...fc.sample(lineRow, { numRuns: 1, seed: 1 })[0]!, lineItemId: 'a' },
        { ...fc.sample(lineRow, { numRuns: 1, seed: 2 })[0]!, lineItemId: 'b' },
      ],
      options: [],
    };

    // Act
    const state = mergeOrderEvent(emptyOrderState(ORDER), event);

    // Assess
    expect(state.lines).toBe(event.lines);
    expect(mergeOrderEvent(state, event)).toBe(state);
  });
});

/** Look-alike texts: equal lengths, equal first, middle and last characters, the empty text. */
const lookAlike = fc.constantFrom(
  '',
  'a',
  'aXa',
  'aYa',
  'aXXa',
  'aYXa',
  'abcdefghijklmnopqrstuvwxyz',
  'abcdefghijklmNopqrstuvwxyz',
  'é',
  'ab"c',
);
const lookAlikeId = fc.constantFrom(
  'x',
  'aXa',
  'aYa',
  'abcdefghijklmnopqrstuvwxyz',
  'abcdefghijklmNopqrstuvwxyz',
);

/** Lineages from a small pool, so that rows of different records share them. */
const pooledLineage = fc.record({
  file: lookAlikeId,
  contentHash: lookAlike,
  row: fc.integer({ min: 1, max: 3 }),
  arrival: fc.nat(2),
});

const pooledLine: fc.Arbitrary<EventLine> = fc.record({
  lineItemId: lookAlikeId,
  restaurantId: lookAlikeId,
  timeZone: lookAlikeId,
  createdAtMs: fc.integer({ min: 0, max: 2 }),
  userId: fc.option(lookAlikeId, { nil: null }),
  isLoyalty: fc.boolean(),
  category: lookAlikeId,
  unitPriceCents: fc.integer({ min: 0, max: 2 }),
  quantity: fc.integer({ min: 1, max: 2 }),
  lineage: pooledLineage,
});

const pooledOption: fc.Arbitrary<EventOption> = fc.record({
  lineItemId: lookAlikeId,
  groupName: lookAlike,
  optionName: lookAlike,
  priceCents: fc.integer({ min: -2, max: 2 }),
  quantity: fc.integer({ min: 1, max: 2 }),
  lineage: pooledLineage,
});

describe('the record reader with recurring texts', () => {
  it('reads records of look-alike texts, one after the other, as JSON.parse and the schema do', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            eventId: lookAlikeId,
            orderId: lookAlikeId,
            lines: fc.array(pooledLine, { maxLength: 3 }),
            options: fc.array(pooledOption, { maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (records) => {
          for (const record of records) {
            // Prepare
            const data = encodeOrderEvent(record);

            // Act
            const decoded = decodeOrderEvent(data);

            // Assess
            expect(decoded).toEqual(decodeOrderEventBySchema(data));
            expect(decoded).toEqual(record);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the ledger text of a state in lists', () => {
  it('is the stream format with rows sorted by identity, as it was written from Maps', () => {
    // Prepare: identities arrive out of order, over two events.
    const line = (lineItemId: string, row: number): EventLine => ({
      lineItemId,
      restaurantId: 'r1',
      timeZone: 'UTC',
      createdAtMs: 1_000,
      userId: null,
      isLoyalty: false,
      category: 'Food',
      unitPriceCents: 100,
      quantity: 1,
      lineage: lineageOf(0, row),
    });
    const option = (lineItemId: string, groupName: string, row: number): EventOption => ({
      lineItemId,
      groupName,
      optionName: 'x',
      priceCents: -5,
      quantity: 1,
      lineage: lineageOf(1, row),
    });
    const first: OrderEvent = {
      eventId: 'e1',
      orderId: ORDER,
      lines: [line('b', 2)],
      options: [option('b', 'S', 1)],
    };
    const second: OrderEvent = {
      eventId: 'e2',
      orderId: ORDER,
      lines: [line('a', 1)],
      options: [option('a', 'S', 2), option('a', 'R', 3)],
    };

    // Act
    const text = encodeOrderState(fold([first, second]));

    // Assess
    const lineText = (id: string, row: number) =>
      `{"i":"${id}","r":"r1","z":"UTC","t":1000,"u":null,"y":false,"c":"Food","p":100,"q":1,"g":["exports/file-0.csv","hash-0",${row},0]}`;
    const optionText = (id: string, group: string, row: number) =>
      `{"i":"${id}","n":"${group}","m":"x","p":-5,"q":1,"g":["exports/file-1.csv","hash-1",${row},1]}`;
    expect(text).toBe(
      `{"v":1,"e":"state","o":"${ORDER}","L":[${lineText('a', 1)},${lineText('b', 2)}],` +
        `"P":[${optionText('a', 'R', 3)},${optionText('a', 'S', 2)},${optionText('b', 'S', 1)}]}`,
    );
    expect(encodeOrderState(decodeOrderState(text))).toBe(text);
  });
});
