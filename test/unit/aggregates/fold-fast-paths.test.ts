/**
 * The processor's fast paths against their plain definitions: the hand-written record decoder
 * against the wire schema's rules, and the option identity against its JSON form. (The compact
 * deltas of the fold are checked against an independent computation in model.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { optionKey } from '../../../aggregates/order-state.js';
import {
  decodeOrderEvent,
  decodeOrderEventBySchema,
  PoisonRecordError,
} from '../../../shared/schemas/order-event.js';

const wireLine = {
  i: 'line-1',
  r: 'loc-1',
  z: 'America/New_York',
  t: 1_692_032_592_345,
  u: 'cust-1',
  y: true,
  c: 'Burgers',
  p: 899,
  q: 2,
  g: ['2023-08-14/order_items.csv', 'ab12', 7, 3],
};
const wireOption = { i: 'line-1', n: 'Size', m: 'Large', p: -150, q: 1, g: ['f.csv', 'cd34', 2, 3] };
const wireEvent = { v: 1, e: 'event-1', o: 'order-1', L: [wireLine], P: [wireOption] };

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const withLine = (patch: Record<string, unknown>) => ({ ...wireEvent, L: [{ ...wireLine, ...patch }] });
const withOption = (patch: Record<string, unknown>) => ({ ...wireEvent, P: [{ ...wireOption, ...patch }] });

describe('decodeOrderEvent', () => {
  it('decodes a valid record into the event', () => {
    // Act
    const event = decodeOrderEvent(encode(wireEvent));
    // Assess
    expect(event).toEqual({
      eventId: 'event-1',
      orderId: 'order-1',
      lines: [
        {
          lineItemId: 'line-1',
          restaurantId: 'loc-1',
          timeZone: 'America/New_York',
          createdAtMs: 1_692_032_592_345,
          userId: 'cust-1',
          isLoyalty: true,
          category: 'Burgers',
          unitPriceCents: 899,
          quantity: 2,
          lineage: { file: '2023-08-14/order_items.csv', contentHash: 'ab12', row: 7, arrival: 3 },
        },
      ],
      options: [
        {
          lineItemId: 'line-1',
          groupName: 'Size',
          optionName: 'Large',
          priceCents: -150,
          quantity: 1,
          lineage: { file: 'f.csv', contentHash: 'cd34', row: 2, arrival: 3 },
        },
      ],
    });
  });

  it.each([
    ['a guest line', withLine({ u: null })],
    ['a free item', withLine({ p: 0 })],
    ['an empty content hash', withLine({ g: ['f.csv', '', 1, 0] })],
    ['empty option names', withOption({ n: '', m: '' })],
    ['keys the schema does not know', { ...withLine({ extra: 1 }), extra: true }],
    ['no lines and no options', { ...wireEvent, L: [], P: [] }],
  ])('accepts %s', (_, wire) => {
    expect(() => decodeOrderEvent(encode(wire))).not.toThrow();
  });

  it.each([
    ['a wrong version', { ...wireEvent, v: 3 }, /: v: /],
    ['an empty order id', { ...wireEvent, o: '' }, /: o: /],
    ['lines that are not a list', { ...wireEvent, L: {} }, /: L: /],
    ['a negative item price', withLine({ p: -1 }), /L\.0\.p: /],
    ['a fractional price', withLine({ p: 8.5 }), /L\.0\.p: /],
    ['a zero quantity', withLine({ q: 0 }), /L\.0\.q: /],
    ['a fractional option quantity', withOption({ q: 1.5 }), /P\.0\.q: /],
    ['an unsafe instant', withLine({ t: 2 ** 60 }), /L\.0\.t: /],
    ['an empty customer', withLine({ u: '' }), /L\.0\.u: /],
    ['a textual loyalty flag', withLine({ y: 'TRUE' }), /L\.0\.y: /],
    ['a missing category', withLine({ c: undefined }), /L\.0\.c: /],
    ['a lineage of five parts', withLine({ g: ['f.csv', 'h', 1, 0, 9] }), /L\.0\.g: /],
    ['a row 0', withOption({ g: ['f.csv', 'h', 0, 0] }), /P\.0\.g\.2: /],
    ['a negative arrival', withOption({ g: ['f.csv', 'h', 1, -1] }), /P\.0\.g\.3: /],
    ['a line that is a list', { ...wireEvent, L: [[]] }, /L\.0: /],
    ['an empty location', withLine({ r: '' }), /L\.0\.r: /],
    ['an empty zone', withLine({ z: '' }), /L\.0\.z: /],
    ['an empty file', withOption({ g: ['', 'cd34', 2, 3] }), /P\.0\.g\.0: /],
  ])('reports %s as a poison record naming the field', (_, wire, message) => {
    // Act / Assess
    expect(() => decodeOrderEvent(encode(wire), '42')).toThrow(PoisonRecordError);
    expect(() => decodeOrderEvent(encode(wire), '42')).toThrow(message);
  });

  it.each([
    ['a location holding a quote', withLine({ r: 'loc "1"' })],
    ['a zone holding a control character', withLine({ z: 'America/New_York\u0001' })],
    ['a location spelled like the key after it', withLine({ r: 'loc-1","z":"America/New_York' })],
    ['an empty group name', withOption({ n: '' })],
    ['an empty option name', withOption({ m: '' })],
    ['a file holding a quote', withOption({ g: ['f.csv","cd34', 'cd34', 2, 3] })],
  ])('reads %s as the schema does, after records whose fields it resembles', (_, wire) => {
    // Prepare: the resembled fields are read (and kept) first.
    decodeOrderEvent(encode(wireEvent));
    const data = encode(wire);
    // Act
    const event = decodeOrderEvent(data);
    // Assess
    expect(event).toEqual(decodeOrderEventBySchema(data));
    expect(decodeOrderEvent(encode(wireEvent))).toEqual(decodeOrderEventBySchema(encode(wireEvent)));
  });

  it('reports bytes that are not UTF-8', () => {
    expect(() => decodeOrderEvent(new Uint8Array([0x7b, 0xff, 0x7d]), '42')).toThrow(/not UTF-8 JSON/);
  });
});

describe('optionKey', () => {
  it('is the JSON of the three parts, whatever they contain', () => {
    const part = fc.string({ unit: 'binary', maxLength: 6 });
    fc.assert(
      fc.property(part, part, part, (lineItemId, groupName, optionName) => {
        expect(optionKey({ lineItemId, groupName, optionName })).toBe(
          JSON.stringify([lineItemId, groupName, optionName]),
        );
      }),
    );
  });
});
