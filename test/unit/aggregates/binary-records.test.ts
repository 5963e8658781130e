/**
 * The binary stream record (version 3) against the JSON record it replaces on the stream:
 * - it decodes to the event the JSON record decodes to, valid or not, and any edit of its bytes
 *   is either a poison record or an event whose rows, built later, never fail;
 * - its summary gives the contribution that the order's state built from its rows gives, and is
 *   there exactly when the event alone is that state;
 * - a batch of binary records plans what the same batch of plain events plans (the fold's fast
 *   path for new orders), and the state it leaves is the merged state.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchRecord, owedDelta, planBatch } from '../../../aggregates/batch.js';
import { orderContribution, summaryContribution } from '../../../aggregates/contribution.js';
import {
  decodeStoredEventState,
  emptyOrderState,
  encodeOrderState,
  mergeOrderEvent,
  type OrderState,
  stateOfEvent,
  storedEventBytes,
} from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  decodeOrderEventBySchema,
  type EventLine,
  type EventOption,
  encodeOrderEvent,
  type OrderEvent,
  PoisonRecordError,
  plainOrderEvent,
} from '../../../shared/schemas/order-event.js';
import {
  BINARY_EVENT_VERSION,
  BinaryOrderEvent,
  encodeBinaryOrderEvent,
  latin1Slicer,
} from '../../../shared/schemas/order-event-binary.js';
import { deltaForm } from './delta-form.js';
import { deliveryArbitrary, eventsArbitrary } from './generators.js';

/** Texts from a small alphabet (so identities repeat), JSON's special characters and non-ASCII. */
const text = fc.oneof(
  fc.constantFrom('a', 'b', 'é', '😀', '"', '\\', '\u0000', 'ab12', 'AB12', '0f', 'f.csv'),
  fc.string({ maxLength: 5 }),
);
const someText = text.filter((value) => value.length > 0);
const lineage = fc.record({
  file: someText,
  contentHash: fc.oneof(text, fc.constantFrom('dfb63fc618c2ceea', '0', 'abc')),
  row: fc.integer({ min: 1, max: 3 }),
  arrival: fc.integer({ min: 0, max: 2 }),
});
const line: fc.Arbitrary<EventLine> = fc.record({
  lineItemId: fc.constantFrom('li-1', 'li-2', 'li-3', 'ü'),
  restaurantId: someText,
  timeZone: fc.constantFrom('America/New_York', 'Europe/London', 'Asia/Kolkata'),
  createdAtMs: fc.oneof(
    fc.constantFrom(1_692_032_592_345, 1_692_032_592_346),
    fc.integer({ min: -(2 ** 40), max: 2 ** 42 }),
  ),
  userId: fc.option(someText, { nil: null }),
  isLoyalty: fc.boolean(),
  category: someText,
  unitPriceCents: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  quantity: fc.integer({ min: 1, max: 500 }),
  lineage,
});
const option: fc.Arbitrary<EventOption> = fc.record({
  lineItemId: fc.constantFrom('li-1', 'li-2', 'li-4', 'ü'),
  groupName: text,
  optionName: text,
  priceCents: fc.integer({ min: -10_000, max: 10_000 }),
  quantity: fc.integer({ min: 1, max: 9 }),
  lineage,
});
/** Valid events, with repeated identities, options of lines the event lacks, and retractions. */
const validEvent: fc.Arbitrary<OrderEvent> = fc.record(
  {
    eventId: fc.oneof(someText, fc.constantFrom('ac2552c2d2e4502272b89057f9eb8569a55c7160', 'ABCD')),
    orderId: someText,
    lines: fc.array(line, { maxLength: 4 }),
    options: fc.array(option, { maxLength: 4 }),
    retractedSources: fc.array(fc.record({ file: someText, contentHash: text }), { maxLength: 2 }),
  },
  { requiredKeys: ['eventId', 'orderId', 'lines', 'options'] },
);

/** The event or the poison message a decoder makes of the bytes. */
function outcome(decode: () => OrderEvent): OrderEvent | string {
  try {
    return plainOrderEvent(decode());
  } catch (error) {
    if (!(error instanceof PoisonRecordError)) throw error;
    return 'poison';
  }
}

/** The value, or the message of the error thrown. */
function attempt<T>(compute: () => T): T | string {
  try {
    return compute();
  } catch (error) {
    return (error as Error).message;
  }
}

describe('binary order records', () => {
  it('decode to the event the JSON record decodes to', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        // Prepare
        const data = encodeBinaryOrderEvent(event);
        // Act
        const decoded = decodeOrderEvent(data);
        // Assess
        expect(data[0]).toBe(BINARY_EVENT_VERSION);
        expect(decoded).toBeInstanceOf(BinaryOrderEvent);
        expect(plainOrderEvent(decoded)).toEqual(decodeOrderEventBySchema(encodeOrderEvent(event)));
      }),
      { numRuns: 1_000 },
    );
  });

  it('are about half the size of the JSON record of a generated chain', () => {
    // Prepare
    const events = fc.sample(eventsArbitrary(8), { numRuns: 20, seed: 7 }).flat();
    const size = (encode: (event: OrderEvent) => Uint8Array) =>
      events.reduce((sum, event) => sum + encode(event).length, 0);
    // Act / Assess
    expect(size(encodeBinaryOrderEvent) / size(encodeOrderEvent)).toBeLessThan(0.6);
  });

  it('summarise exactly the events that alone are an order state, with its contribution', () => {
    let summarised = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          validEvent,
          eventsArbitrary(3).map((events) => events[0]!),
        ),
        (event) => {
          // Prepare
          const decoded = decodeOrderEvent(encodeBinaryOrderEvent(event)) as BinaryOrderEvent;
          const merged = mergeOrderEvent(emptyOrderState(event.orderId), plainOrderEvent(decoded));
          const alone =
            event.lines.length > 0 &&
            (event.retractedSources ?? []).length === 0 &&
            new Set(event.lines.map((row) => row.lineItemId)).size === event.lines.length &&
            new Set(
              event.options.map((row) => JSON.stringify([row.lineItemId, row.groupName, row.optionName])),
            ).size === event.options.length &&
            event.options.every((row) => event.lines.some((known) => known.lineItemId === row.lineItemId));
          // Act
          const summary = decoded.summary;
          // Assess
          expect(summary !== null).toBe(alone);
          if (summary === null) return;
          summarised++;
          expect(summaryContribution(decoded.orderId, summary)).toEqual(orderContribution(merged));
          const state = stateOfEvent(decoded)!;
          expect(encodeOrderState(state)).toBe(encodeOrderState(merged));
          expect(storedEventBytes(state)).toBe(decoded.bytes);
          expect(encodeOrderState(decodeStoredEventState(decoded.bytes))).toBe(encodeOrderState(merged));
        },
      ),
      { numRuns: 1_000 },
    );
    expect(summarised).toBeGreaterThan(200);
  });

  it('read any edit of their bytes as poison or as an event whose rows build and agree', () => {
    fc.assert(
      fc.property(
        validEvent,
        fc.array(
          fc.record({
            kind: fc.constantFrom('replace', 'insert', 'delete', 'truncate'),
            at: fc.nat(),
            byte: fc.oneof(
              fc.integer({ min: 0, max: 255 }),
              fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xc3, 0xff),
            ),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (event, edits) => {
          // Prepare
          let bytes = [...encodeBinaryOrderEvent(event)];
          for (const { kind, at, byte } of edits) {
            const position = 1 + (at % bytes.length);
            if (kind === 'replace') bytes[position] = byte;
            else if (kind === 'insert') bytes.splice(position, 0, byte);
            else if (kind === 'delete') bytes.splice(position, 1);
            else bytes = bytes.slice(0, position);
          }
          const data = new Uint8Array(bytes);
          // Act
          const result = outcome(() => decodeOrderEvent(data));
          // Assess: an accepted record's rows were validated with it, and its summary agrees
          if (result === 'poison') return;
          const decoded = decodeOrderEvent(data) as BinaryOrderEvent;
          const merged = mergeOrderEvent(emptyOrderState(decoded.orderId), plainOrderEvent(decoded));
          if (decoded.summary !== null) {
            // An edited zone may be no zone at all: both then throw the same error.
            const summary = decoded.summary;
            const contribution = attempt(() => summaryContribution(decoded.orderId, summary));
            const reference = attempt(() => orderContribution(merged));
            if (!isDeepStrictEqual(contribution, reference)) expect(contribution).toEqual(reference);
          }
          expect(encodeBinaryOrderEvent(plainOrderEvent(decoded)).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('name the field at fault in a poison record', () => {
    // Prepare
    const event: OrderEvent = {
      eventId: 'e-1',
      orderId: 'o-1',
      lines: [
        {
          lineItemId: 'li-1',
          restaurantId: 'loc-1',
          timeZone: 'Europe/London',
          createdAtMs: 1,
          userId: null,
          isLoyalty: false,
          category: 'Burgers',
          unitPriceCents: 100,
          quantity: 1,
          lineage: { file: 'f.csv', contentHash: 'ab', row: 1, arrival: 0 },
        },
      ],
      options: [],
    };
    const data = encodeBinaryOrderEvent(event);
    const two = encodeBinaryOrderEvent({ ...event, lines: [{ ...event.lines[0]!, quantity: 2 }] });
    // The quantity's byte is the one byte the two records differ in.
    const quantityAt = data.findIndex((byte, index) => two[index] !== byte);
    const zeroQuantity = data.slice();
    zeroQuantity[quantityAt] = 0;
    // Act / Assess
    expect(() => decodeOrderEvent(zeroQuantity, '42')).toThrow(
      'record 42 is not an order event: L.0.q: must be at least 1',
    );
    expect(() => decodeOrderEvent(data.slice(0, 10), '43')).toThrow(/record 43 is not an order event: /);
  });

  it("read texts through Node's Latin-1 slice, or through a Buffer view when it is missing or wrong", () => {
    // Prepare: slices of records that share their memory with others, as the SDK's records do.
    const native = (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice;
    const slicers = [latin1Slicer(native), latin1Slicer(undefined), latin1Slicer(() => 'wrong')];
    const scenario = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.nat(), fc.nat({ max: 16 }))
      .map(([bytes, a, b, padding]) => {
        const memory = new Uint8Array(bytes.length + 2 * padding);
        memory.set(bytes, padding);
        const view = memory.subarray(padding, padding + bytes.length);
        const start = a % (bytes.length + 1);
        return { view, start, end: start + (b % (bytes.length - start + 1)) };
      });
    fc.assert(
      fc.property(scenario, ({ view, start, end }) => {
        // Act
        const texts = slicers.map((slice) => slice(view, start, end));
        // Assess
        const expected = Buffer.from(view).toString('latin1', start, end);
        expect(texts).toEqual([expected, expected, expected]);
      }),
    );
  });
});

describe('planBatch over binary records', () => {
  it('plans what the same plain events plan, and leaves the same states', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(6).chain(deliveryArbitrary),
        fc.integer({ min: 1, max: 12 }),
        (delivered, batchSize) => {
          // Prepare: each event delivered as a binary record, and as the plain event
          const binary: BatchRecord[] = delivered.map((event, index) => ({
            sequence: BigInt(1_000 + index * 7),
            event: decodeOrderEvent(encodeBinaryOrderEvent(event)),
          }));
          const plain: BatchRecord[] = delivered.map((event, index) => ({
            sequence: BigInt(1_000 + index * 7),
            event,
          }));
          let binaryLedger = new Map<string, OrderState>();
          let plainLedger = new Map<string, OrderState>();
          for (let offset = 0; offset < delivered.length; offset += batchSize) {
            // Act
            const plan = planBatch(binaryLedger, binary.slice(offset, offset + batchSize));
            const reference = planBatch(plainLedger, plain.slice(offset, offset + batchSize));
            // Assess
            expect([...plan.items.keys()]).toEqual([...reference.items.keys()]);
            expect(plan.duplicateRecords).toBe(reference.duplicateRecords);
            for (const [itemId, item] of plan.items) {
              const other = reference.items.get(itemId)!;
              expect(item.stepCount).toBe(other.stepCount);
              for (const mark of [null, ...plain.map((record) => record.sequence)])
                expect(deltaForm(owedDelta(item, mark))).toEqual(deltaForm(owedDelta(other, mark)));
            }
            expect([...plan.changedStates].map(([id, state]) => [id, encodeOrderState(state)])).toEqual(
              [...reference.changedStates].map(([id, state]) => [id, encodeOrderState(state)]),
            );
            binaryLedger = new Map([...binaryLedger, ...plan.changedStates]);
            plainLedger = new Map([...plainLedger, ...reference.changedStates]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
