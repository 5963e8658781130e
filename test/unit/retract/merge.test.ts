/**
 * Retraction in the order-state merge: a retracted source's rows leave the state whenever they
 * arrive, another source's row of the same identity takes their place, and any interleaving or
 * duplication of rows and retractions ends in the same state and the same aggregates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchRecord, owedDelta, planBatch } from '../../../aggregates/batch.js';
import { type OrderContribution, orderContribution } from '../../../aggregates/contribution.js';
import { applyDelta, type PlainItem } from '../../../aggregates/delta.js';
import { itemId } from '../../../aggregates/keys.js';
import {
  decodeOrderState,
  emptyOrderState,
  encodeOrderState,
  mergeOrderEvent,
  type OrderState,
  retractSources,
  sameOrderState,
} from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  type EventLine,
  encodeOrderEvent,
  type OrderEvent,
  RETRACTION_EVENT_VERSION,
  type RetractedSource,
} from '../../../shared/schemas/order-event.js';
import { deliveryArbitrary, eventsArbitrary, FILE_COUNT } from '../aggregates/generators.js';
import { normaliseTable, referenceItems } from '../aggregates/reference.js';

/** The sources the generator writes: `folder/f<n>.csv` with content `hash-<n>`. */
const generatedSource = (file: number): RetractedSource => ({
  file: `folder/f${file}.csv`,
  contentHash: `hash-${file}`,
});

const isRetracted = (retracted: readonly RetractedSource[], lineage: RetractedSource): boolean =>
  retracted.some((source) => source.file === lineage.file && source.contentHash === lineage.contentHash);

/** One retraction event per order of `events` (as `tillstream retract` puts them). */
function retractionEvents(
  events: readonly OrderEvent[],
  retracted: readonly RetractedSource[],
): OrderEvent[] {
  if (retracted.length === 0) return [];
  return [...new Set(events.map((event) => event.orderId))].map((orderId) => ({
    eventId: `retract-${orderId}`,
    orderId,
    lines: [],
    options: [],
    retractedSources: retracted,
  }));
}

/** The events as if the retracted sources had never been uploaded. */
function withoutSources(events: readonly OrderEvent[], retracted: readonly RetractedSource[]): OrderEvent[] {
  return events.map((event) => ({
    ...event,
    lines: event.lines.filter((line) => !isRetracted(retracted, line.lineage)),
    options: event.options.filter((option) => !isRetracted(retracted, option.lineage)),
  }));
}

function foldAll(events: readonly OrderEvent[]): Map<string, OrderState> {
  const states = new Map<string, OrderState>();
  for (const event of events) {
    states.set(
      event.orderId,
      mergeOrderEvent(states.get(event.orderId) ?? emptyOrderState(event.orderId), event),
    );
  }
  return states;
}

const retractedFiles = fc
  .uniqueArray(fc.integer({ min: 0, max: FILE_COUNT - 1 }), { maxLength: FILE_COUNT })
  .map((files) => files.map(generatedSource));

const line = (lineItemId: string, file: string, contentHash: string, arrival: number): EventLine => ({
  lineItemId,
  restaurantId: 'loc-1',
  timeZone: 'America/New_York',
  createdAtMs: Date.parse('2023-08-14T17:03:12.345Z'),
  userId: 'cust-1',
  isLoyalty: false,
  category: 'Burgers',
  unitPriceCents: 1000,
  quantity: 1,
  lineage: { file, contentHash, row: 1, arrival },
});

/** The contribution with its categories by name: the two states may hold their lines in another order. */
const byCategoryName = (contribution: OrderContribution | null) =>
  contribution === null
    ? null
    : {
        ...contribution,
        categories: [...contribution.categories].sort((a, b) => a.category.localeCompare(b.category)),
      };

describe('order state with retractions', () => {
  it('any interleaving and duplication of rows and retractions gives one state', () => {
    const scenario = fc.tuple(eventsArbitrary(3), retractedFiles).chain(([events, retracted]) => {
      const all = [...events, ...retractionEvents(events, retracted)];
      return fc.tuple(fc.constant(all), deliveryArbitrary(all), deliveryArbitrary(all));
    });
    fc.assert(
      fc.property(scenario, ([all, first, second]) => {
        // Act
        const once = foldAll(all);
        const deliveredA = foldAll(first);
        const deliveredB = foldAll(second);
        // Assess
        for (const [orderId, state] of once) {
          expect(sameOrderState(deliveredA.get(orderId)!, state)).toBe(true);
          expect(sameOrderState(deliveredB.get(orderId)!, state)).toBe(true);
          expect(sameOrderState(decodeOrderState(encodeOrderState(state)), state)).toBe(true);
        }
      }),
    );
  });

  it('contributes exactly what the other sources alone contribute', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(4).chain((events) =>
          fc.tuple(
            fc.constant(events),
            retractedFiles,
            deliveryArbitrary(events),
            fc.integer({ min: 0, max: 50 }),
          ),
        ),
        ([events, retracted, delivered, cut]) => {
          // Prepare: the retractions arrive anywhere in the delivery, before or after the rows.
          const at = Math.min(cut, delivered.length);
          const mixed = [
            ...delivered.slice(0, at),
            ...retractionEvents(events, retracted),
            ...delivered.slice(at),
          ];
          // Act
          const withdrawn = foldAll(mixed);
          const neverSeen = foldAll(withoutSources(events, retracted));
          // Assess
          for (const [orderId, state] of withdrawn) {
            const expected = neverSeen.get(orderId) ?? emptyOrderState(orderId);
            expect(byCategoryName(orderContribution(state))).toEqual(
              byCategoryName(orderContribution(expected)),
            );
            expect([...state.lines.values()].sort(byLineItem)).toEqual(
              [...expected.lines.values()].sort(byLineItem),
            );
          }
        },
      ),
    );
  });

  it('folds in batches to the items of the rows that were never retracted', () => {
    const scenario = fc.tuple(eventsArbitrary(6), retractedFiles).chain(([events, retracted]) => {
      const all = [...events, ...retractionEvents(events, retracted)];
      return fc.tuple(
        fc.constant(events),
        fc.constant(retracted),
        deliveryArbitrary(all),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }),
      );
    });
    fc.assert(
      fc.property(scenario, ([events, retracted, delivered, batchSizes]) => {
        // Prepare
        const records: BatchRecord[] = delivered.map((event, index) => ({
          sequence: BigInt(500 + index * 3),
          event,
        }));
        const ledger = new Map<string, OrderState>();
        const items = new Map<string, PlainItem>();
        // Act
        let offset = 0;
        for (let batch = 0; offset < records.length; batch++) {
          const size = batchSizes[batch % batchSizes.length]!;
          const plan = planBatch(ledger, records.slice(offset, offset + size));
          for (const item of plan.items.values()) {
            const delta = owedDelta(item, null);
            items.set(itemId(delta.key), applyDelta(items.get(itemId(delta.key)), delta));
          }
          for (const [orderId, state] of plan.changedStates) ledger.set(orderId, state);
          offset += size;
        }
        // Assess
        const table = normaliseTable(
          [...items.values()].map((item): [string, Record<string, unknown>] => [
            `${item.pk}|${item.sk}`,
            item,
          ]),
        );
        expect(table).toEqual(referenceItems(withoutSources(events, retracted)));
      }),
    );
  });

  it('brings back a row of another source when the first source is retracted, and re-adds it later', () => {
    // Prepare: the bad export (arrival 1) and the corrected one (arrival 3) hold one line each.
    const bad = line('li-1', 'exports/day.csv', 'bad', 1);
    const corrected = { ...line('li-1', 'exports/day.csv', 'good', 3), unitPriceCents: 900 };
    const start = mergeOrderEvent(emptyOrderState('o1'), {
      eventId: 'a',
      orderId: 'o1',
      lines: [bad],
      options: [],
    });
    // Act
    const both = mergeOrderEvent(start, { eventId: 'c', orderId: 'o1', lines: [corrected], options: [] });
    const withdrawn = retractSources(both, [{ file: 'exports/day.csv', contentHash: 'bad' }]);
    const replayedBad = mergeOrderEvent(withdrawn, {
      eventId: 'a',
      orderId: 'o1',
      lines: [bad],
      options: [],
    });
    // Assess
    expect(orderContribution(both)?.netCents).toBe(1000);
    expect(both.shadowedLines.size).toBe(1);
    expect(orderContribution(withdrawn)?.netCents).toBe(900);
    expect(withdrawn.shadowedLines.size).toBe(0);
    expect(replayedBad).toBe(withdrawn);
  });

  it('cancels rows that arrive after their retraction, and treats a second retraction as a duplicate', () => {
    // Prepare
    const source = { file: 'exports/day.csv', contentHash: 'bad' };
    const tombstone = retractSources(emptyOrderState('o1'), [source]);
    // Act
    const late = mergeOrderEvent(tombstone, {
      eventId: 'a',
      orderId: 'o1',
      lines: [line('li-1', source.file, source.contentHash, 1)],
      options: [],
    });
    // Assess
    expect(late).toBe(tombstone);
    expect(orderContribution(late)).toBeNull();
    expect(retractSources(tombstone, [source])).toBe(tombstone);
  });
});

describe('retraction records', () => {
  it('round-trip as version 2, and an ordinary event stays version 1', () => {
    // Prepare
    const retraction: OrderEvent = {
      eventId: 'r1',
      orderId: 'o1',
      lines: [],
      options: [],
      retractedSources: [{ file: 'exports/day.csv', contentHash: 'abc' }],
    };
    const ordinary: OrderEvent = { eventId: 'e1', orderId: 'o1', lines: [], options: [] };
    // Act
    const encoded = encodeOrderEvent(retraction);
    const wire = JSON.parse(new TextDecoder().decode(encoded)) as { v: number };
    const plain = JSON.parse(new TextDecoder().decode(encodeOrderEvent(ordinary))) as Record<string, unknown>;
    // Assess
    expect(wire.v).toBe(RETRACTION_EVENT_VERSION);
    expect(decodeOrderEvent(encoded)).toEqual(retraction);
    expect(plain['v']).toBe(1);
    expect(plain).not.toHaveProperty('X');
  });
});

const byLineItem = (a: EventLine, b: EventLine): number =>
  a.lineItemId < b.lineItemId ? -1 : a.lineItemId > b.lineItemId ? 1 : 0;
