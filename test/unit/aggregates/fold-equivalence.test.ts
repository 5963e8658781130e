/**
 * The fold's fast paths against the definitions they replace:
 * - the canonical record reader against JSON.parse and the wire schema, on random events (any
 *   text in any field, valid or not) and on random edits of their bytes;
 * - the batch plan's per-item sums (whole contributions summed by figure) against the compact
 *   deltas of every record summed by `sumCompactDeltas`, for amendments, late lines, duplicates,
 *   retractions and every high-water mark inside the batch.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchRecord, owedDelta, planBatch } from '../../../aggregates/batch.js';
import { orderContribution } from '../../../aggregates/contribution.js';
import {
  type CompactDelta,
  compactContributionDeltas,
  type ItemDelta,
  sumCompactDeltas,
} from '../../../aggregates/delta.js';
import type { ItemKey } from '../../../aggregates/keys.js';
import { emptyOrderState, mergeOrderEvent, type OrderState } from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  decodeOrderEventBySchema,
  type EventLine,
  type EventOption,
  encodeOrderEvent,
  type OrderEvent,
  type RetractedSource,
  readCanonicalOrderEvent,
} from '../../../shared/schemas/order-event.js';
import { deltaForm } from './delta-form.js';
import { deliveryArbitrary, eventsArbitrary, FILE_COUNT } from './generators.js';

/** Any text, JSON's special characters and non-ASCII ones included. */
const anyText = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('', '"', '\\', '\u0000', '\u001f', 'a"b', 'é', '😀', '2023-08-14/order_items.csv'),
);
/** Integers, valid or not, with the edges of JSON's spelling (15 and 16 digits, negative, 0). */
const anyInteger = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.constantFrom(999_999_999_999_999, 1_000_000_000_000_000, Number.MAX_SAFE_INTEGER, 2 ** 60, -(2 ** 53)),
);
const lineage = fc.record({ file: anyText, contentHash: anyText, row: anyInteger, arrival: anyInteger });

const anyLine: fc.Arbitrary<EventLine> = fc.record({
  lineItemId: anyText,
  restaurantId: anyText,
  timeZone: anyText,
  createdAtMs: anyInteger,
  userId: fc.option(anyText, { nil: null }),
  isLoyalty: fc.boolean(),
  category: anyText,
  unitPriceCents: anyInteger,
  quantity: anyInteger,
  lineage,
});

const anyOption: fc.Arbitrary<EventOption> = fc.record({
  lineItemId: anyText,
  groupName: anyText,
  optionName: anyText,
  priceCents: anyInteger,
  quantity: anyInteger,
  lineage,
});

const anyEvent: fc.Arbitrary<OrderEvent> = fc.record(
  {
    eventId: anyText,
    orderId: anyText,
    lines: fc.array(anyLine, { maxLength: 3 }),
    options: fc.array(anyOption, { maxLength: 3 }),
    retractedSources: fc.array(fc.record({ file: anyText, contentHash: anyText }), { maxLength: 2 }),
  },
  { requiredKeys: ['eventId', 'orderId', 'lines', 'options'] },
);

/** Any text that is not empty. */
const someText = anyText.filter((text) => text.length > 0);
const validLineage = fc.record({
  file: someText,
  contentHash: anyText,
  row: fc.integer({ min: 1, max: 10_000 }),
  arrival: fc.integer({ min: 0, max: 10_000 }),
});

/** Events the schema accepts, with any text in their strings. */
const validEvent: fc.Arbitrary<OrderEvent> = fc.record(
  {
    eventId: someText,
    orderId: someText,
    lines: fc.array(
      fc.record({
        lineItemId: someText,
        restaurantId: someText,
        timeZone: someText,
        createdAtMs: fc.integer({ min: -(2 ** 40), max: 2 ** 42 }),
        userId: fc.option(someText, { nil: null }),
        isLoyalty: fc.boolean(),
        category: someText,
        unitPriceCents: fc.integer({ min: 0, max: 1_000_000 }),
        quantity: fc.integer({ min: 1, max: 500 }),
        lineage: validLineage,
      }),
      { maxLength: 3 },
    ),
    options: fc.array(
      fc.record({
        lineItemId: someText,
        groupName: anyText,
        optionName: anyText,
        priceCents: fc.integer({ min: -10_000, max: 10_000 }),
        quantity: fc.integer({ min: 1, max: 9 }),
        lineage: validLineage,
      }),
      { maxLength: 3 },
    ),
    retractedSources: fc.array(fc.record({ file: someText, contentHash: anyText }), { maxLength: 2 }),
  },
  { requiredKeys: ['eventId', 'orderId', 'lines', 'options'] },
);

/** What a decoder makes of the bytes: the event, or the message of the error it throws. */
function outcome(decode: (data: Uint8Array) => OrderEvent, data: Uint8Array): OrderEvent | string {
  try {
    return decode(data);
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

/** Characters that change how JSON reads, and a few that do not. */
const EDIT_CHARACTERS = [
  '"',
  '\\',
  ',',
  ':',
  '{',
  '}',
  '[',
  ']',
  '0',
  '1',
  '-',
  '.',
  'e',
  ' ',
  'n',
  '\u0001',
  'é',
];
const editCharacter = fc.constantFrom(...EDIT_CHARACTERS);
const edit = fc.record({
  kind: fc.constantFrom('replace', 'insert', 'delete'),
  /** Anywhere, or where a value starts (after `:`, `,` or `[`), where edits change how JSON reads it. */
  where: fc.constantFrom('anywhere', 'value'),
  at: fc.nat(),
  character: editCharacter,
});

/** The positions where a value starts. */
const valueStarts = (text: string): number[] => [...text.matchAll(/[:,[]/g)].map((match) => match.index + 1);

describe('decodeOrderEvent', () => {
  it('reads every encoded event as JSON.parse and the schema do, valid or not', () => {
    fc.assert(
      fc.property(fc.oneof(validEvent, anyEvent), (event) => {
        // Prepare
        const data = encodeOrderEvent(event);
        // Act / Assess
        expect(outcome(decodeOrderEvent, data)).toEqual(outcome(decodeOrderEventBySchema, data));
      }),
      { numRuns: 500 },
    );
  });

  it('reads any edit of an encoded event as JSON.parse and the schema do', () => {
    // Thousands of texts per event: `expect` only reports a difference found by the quicker check.
    const agree = (text: string) => {
      const data = new TextEncoder().encode(text);
      const fast = outcome(decodeOrderEvent, data);
      const bySchema = outcome(decodeOrderEventBySchema, data);
      if (!isDeepStrictEqual(fast, bySchema)) expect(fast).toEqual(bySchema);
      // The text as the record holds it (TextEncoder writes a lone surrogate as U+FFFD).
      const canonical = readCanonicalOrderEvent(new TextDecoder().decode(data));
      if (canonical !== undefined && !isDeepStrictEqual(canonical, bySchema))
        expect(canonical).toEqual(bySchema);
    };
    fc.assert(
      fc.property(
        fc.oneof(validEvent, anyEvent),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (event, edits) => {
          // Prepare
          const encoded = new TextDecoder().decode(encodeOrderEvent(event));
          let text = encoded;
          for (const { kind, where, at, character } of edits) {
            const starts = valueStarts(text);
            const position =
              where === 'value' && starts.length > 0 ? starts[at % starts.length]! : at % (text.length + 1);
            if (kind === 'insert') text = text.slice(0, position) + character + text.slice(position);
            else if (kind === 'replace')
              text = text.slice(0, position) + character + text.slice(position + 1);
            else text = text.slice(0, position) + text.slice(position + 1);
          }
          // Act / Assess
          agree(text);
          // Every single edit where a value starts: a sign, a leading zero, a fraction, a quote...
          for (const position of valueStarts(encoded)) {
            agree(encoded.slice(0, position) + encoded.slice(position + 1));
            for (const character of EDIT_CHARACTERS) {
              agree(encoded.slice(0, position) + character + encoded.slice(position));
              agree(encoded.slice(0, position) + character + encoded.slice(position + 1));
            }
          }
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);

  it('takes the canonical path for every generated event, old (v1) and retraction (v2) records alike', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(4),
        fc.uniqueArray(fc.integer({ min: 0, max: FILE_COUNT - 1 }), { maxLength: 2 }),
        (events, retractedFiles) => {
          const retracted: RetractedSource[] = retractedFiles.map((file) => ({
            file: `folder/f${file}.csv`,
            contentHash: `hash-${file}`,
          }));
          for (const event of [...events, ...events.map((e) => ({ ...e, retractedSources: retracted }))]) {
            // Prepare
            const data = encodeOrderEvent(event);
            // Act
            const canonical = readCanonicalOrderEvent(new TextDecoder().decode(data));
            // Assess
            expect(canonical).toBeDefined();
            expect(canonical).toEqual(decodeOrderEventBySchema(data));
          }
        },
      ),
    );
  });

  it('leaves a record with white space, another key order or an escape to the general path', () => {
    // Prepare
    const event: OrderEvent = {
      eventId: 'e-1',
      orderId: 'o-1',
      lines: [],
      options: [
        {
          lineItemId: 'li-1',
          groupName: 'Size',
          optionName: 'Large',
          priceCents: -150,
          quantity: 1,
          lineage: { file: 'f.csv', contentHash: 'h', row: 2, arrival: 3 },
        },
      ],
    };
    const canonical = new TextDecoder().decode(encodeOrderEvent(event));
    const variants = [
      canonical.replace('{"v":1,', '{ "v": 1, '),
      canonical.replace('{"v":1,"e":"e-1",', '{"e":"e-1","v":1,'),
      canonical.replace('"Large"', '"Lar\\u0067e"'),
      canonical.replace('"p":-150', '"p":-150.0'),
    ];
    for (const text of variants) {
      // Act
      const fast = readCanonicalOrderEvent(text);
      const decoded = decodeOrderEvent(new TextEncoder().encode(text));
      // Assess
      expect(fast).toBeUndefined();
      expect(decoded).toEqual(event);
    }
    expect(readCanonicalOrderEvent(canonical)).toEqual(event);
  });
});

/** The batch plan as it was defined before its per-item sums: one compact delta per record and item. */
function referencePlan(initial: ReadonlyMap<string, OrderState>, records: readonly BatchRecord[]) {
  const sorted = [...records].sort((a, b) =>
    a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0,
  );
  const states = new Map<string, OrderState>();
  const steps = new Map<string, { key: ItemKey; steps: { sequence: bigint; delta: CompactDelta }[] }>();
  for (const record of sorted) {
    const id = record.event.orderId;
    const before = states.get(id) ?? initial.get(id) ?? emptyOrderState(id);
    const after = mergeOrderEvent(before, record.event);
    if (after === before) continue;
    states.set(id, after);
    for (const [itemId, delta] of compactContributionDeltas(
      orderContribution(before),
      orderContribution(after),
    )) {
      const item = steps.get(itemId) ?? { key: delta.key, steps: [] };
      item.steps.push({ sequence: record.sequence, delta });
      steps.set(itemId, item);
    }
  }
  const owed = (itemId: string, highWaterMark: bigint | null): ItemDelta => {
    const item = steps.get(itemId)!;
    return sumCompactDeltas(
      item.key,
      item.steps
        .filter((step) => highWaterMark === null || step.sequence > highWaterMark)
        .map((step) => step.delta),
    );
  };
  return {
    itemIds: [...steps.keys()],
    stepCounts: [...steps.values()].map((item) => item.steps.length),
    owed,
    states,
  };
}

/** Retraction events for some orders of `events`. */
const withRetractions = (events: readonly OrderEvent[]) =>
  fc
    .subarray([...new Set(events.map((event) => event.orderId))])
    .chain((orderIds) =>
      fc.constant(
        orderIds.map(
          (orderId): OrderEvent => ({
            eventId: `retract-${orderId}`,
            orderId,
            lines: [],
            options: [],
            retractedSources: [{ file: 'folder/f1.csv', contentHash: 'hash-1' }],
          }),
        ),
      ),
    )
    .map((retractions) => [...events, ...retractions]);

describe('planBatch', () => {
  it('owes every item what the compact deltas of its records sum to, at every high-water mark', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(6).chain(withRetractions).chain(deliveryArbitrary),
        fc.integer({ min: 1, max: 12 }),
        (delivered, batchSize) => {
          // Prepare
          const records = delivered.map((event, index) => ({ sequence: BigInt(1_000 + index * 7), event }));
          let ledger = new Map<string, OrderState>();
          for (let offset = 0; offset < records.length; offset += batchSize) {
            const batch = records.slice(offset, offset + batchSize);
            // Act
            const plan = planBatch(ledger, batch);
            // Assess
            const reference = referencePlan(ledger, batch);
            expect([...plan.items.keys()]).toEqual(reference.itemIds);
            expect([...plan.items.values()].map((item) => item.stepCount)).toEqual(reference.stepCounts);
            const marks = [null, ...batch.map((record) => record.sequence)];
            for (const [itemId, item] of plan.items) {
              for (const mark of marks)
                expect(deltaForm(owedDelta(item, mark))).toEqual(deltaForm(reference.owed(itemId, mark)));
            }
            expect([...plan.changedStates.keys()]).toEqual([...reference.states.keys()]);
            ledger = new Map([...ledger, ...plan.changedStates]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
