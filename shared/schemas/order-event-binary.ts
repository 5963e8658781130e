/**
 * The stream record in binary (version 3): the same order event as the JSON record
 * (`order-event.ts`), in about half the bytes, read without building a string per field.
 *
 * Layout (integers are unsigned LEB128 varints, at most 8 bytes and safe integers; `zigzag` maps
 * a signed integer n to 2n or −2n−1; `str` is a varint byte length and UTF-8 bytes; `text` is a
 * varint h and then h>>1 bytes: lowercase hex packed two digits a byte when h is odd, UTF-8 when
 * h is even):
 *
 * ```
 * 0x03 version
 * text eventId, str orderId
 * varint lines; per line: str lineItemId, str restaurantId, str timeZone, zigzag createdAtMs,
 *   varint n (0: guest, else n−1 bytes of USER_ID), byte isLoyalty (0 or 1), str category,
 *   varint unitPriceCents, varint quantity, lineage
 * varint options; per option: varint k (k ≥ 1: the LINEITEM_ID of line k of this record; 0: a
 *   str lineItemId follows), str groupName, str optionName, zigzag priceCents, varint quantity,
 *   lineage
 * varint retracted sources; per source: str file, text contentHash
 * lineage = str file, text contentHash, varint row, varint arrival
 * ```
 *
 * The first byte of a JSON record is `{`, so one reader tells the two apart. A processor that
 * predates this version reports such a record as poison (kept for replay) rather than guessing.
 *
 * Reading a record validates all of it (the rules of the JSON schema: non-empty ids, row ≥ 1,
 * quantity ≥ 1, line price ≥ 0, valid UTF-8) and sums what the order's contribution needs when the
 * event alone is the order's state (`EventSummary`); rows are built only when something asks for
 * them (`BinaryOrderEvent.lines`). The shard fold of a new order then never builds them, and the
 * ledger stores the record's bytes as the order's state (`processors/shard/dynamo-store.ts`).
 */
import type { EventLine, EventOption, Lineage, OrderEvent, RetractedSource } from './order-event.js';

export const BINARY_EVENT_VERSION = 3;

/** Raised by the reader; `order-event.ts` turns it into a `PoisonRecordError` with the locator. */
export class BinaryRecordError extends Error {
  override name = 'BinaryRecordError';
}

// ---------------------------------------------------------------------------------------------
// Writing

const isAscii = (text: string): boolean => {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) >= 0x80) return false;
  return true;
};

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_A = 0x61;
const LOWER_F = 0x66;

/** An even number of lowercase hex digits (empty included): written packed, two digits a byte. */
const isLowerHex = (text: string): boolean => {
  if (text.length % 2 !== 0) return false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= DIGIT_0 && code <= DIGIT_9) || (code >= LOWER_A && code <= LOWER_F))) return false;
  }
  return true;
};

/** The value of a lowercase hex digit's code. */
const nibble = (code: number): number => (code <= DIGIT_9 ? code - DIGIT_0 : code - LOWER_A + 10);

class Writer {
  private bytes = new Uint8Array(1024);
  private length = 0;
  private static readonly utf8 = new TextEncoder();

  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varint: ${value}`);
    this.room(8);
    let rest = value;
    while (rest >= 0x80) {
      this.bytes[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.bytes[this.length++] = rest;
  }

  zigzag(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    // −0 is written as 0: JSON writes it as `0` too.
    this.varint(value < 0 ? -2 * value - 1 : 2 * value);
  }

  str(text: string): void {
    if (isAscii(text)) {
      this.varint(text.length);
      this.ascii(text);
      return;
    }
    const encoded = Writer.utf8.encode(text);
    this.varint(encoded.length);
    this.raw(encoded);
  }

  /** A guest (`null`) as 0, else the id's byte length + 1 and its bytes. */
  user(userId: string | null): void {
    if (userId === null) this.varint(0);
    else if (isAscii(userId)) {
      this.varint(userId.length + 1);
      this.ascii(userId);
    } else {
      const encoded = Writer.utf8.encode(userId);
      this.varint(encoded.length + 1);
      this.raw(encoded);
    }
  }

  text(text: string): void {
    if (isLowerHex(text)) {
      this.varint(text.length * 2 + 1);
      this.room(text.length / 2);
      for (let index = 0; index < text.length; index += 2)
        this.bytes[this.length++] =
          (nibble(text.charCodeAt(index)) << 4) | nibble(text.charCodeAt(index + 1));
      return;
    }
    const encoded = Writer.utf8.encode(text);
    this.varint(encoded.length * 2);
    this.raw(encoded);
  }

  /** Writes an ASCII text's codes as its bytes. */
  private ascii(text: string): void {
    this.room(text.length);
    for (let index = 0; index < text.length; index++) this.bytes[this.length++] = text.charCodeAt(index);
  }

  private raw(encoded: Uint8Array): void {
    this.room(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }

  lineage(lineage: Lineage): void {
    this.str(lineage.file);
    this.text(lineage.contentHash);
    this.varint(lineage.row);
    this.varint(lineage.arrival);
  }

  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/**
 * The record's bytes for Kinesis, in the binary layout.
 *
 * @example
 * const data = encodeBinaryOrderEvent(event);
 * expect(plainOrderEvent(decodeOrderEvent(data))).toEqual(event);
 */
export function encodeBinaryOrderEvent(event: OrderEvent): Uint8Array {
  const writer = new Writer();
  writer.byte(BINARY_EVENT_VERSION);
  writer.text(event.eventId);
  writer.str(event.orderId);
  writer.varint(event.lines.length);
  for (const line of event.lines) {
    writer.str(line.lineItemId);
    writer.str(line.restaurantId);
    writer.str(line.timeZone);
    writer.zigzag(line.createdAtMs);
    writer.user(line.userId);
    writer.byte(line.isLoyalty ? 1 : 0);
    writer.str(line.category);
    writer.varint(line.unitPriceCents);
    writer.varint(line.quantity);
    writer.lineage(line.lineage);
  }
  writer.varint(event.options.length);
  for (const option of event.options) {
    const line = event.lines.findIndex((candidate) => candidate.lineItemId === option.lineItemId);
    writer.varint(line + 1);
    if (line < 0) writer.str(option.lineItemId);
    writer.str(option.groupName);
    writer.str(option.optionName);
    writer.zigzag(option.priceCents);
    writer.varint(option.quantity);
    writer.lineage(option.lineage);
  }
  const retracted = event.retractedSources ?? [];
  writer.varint(retracted.length);
  for (const source of retracted) {
    writer.str(source.file);
    writer.text(source.contentHash);
  }
  return writer.done();
}

// ---------------------------------------------------------------------------------------------
// Reading

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A Latin-1 string of `bytes[start…end)`: through `native` (Node's `Buffer.prototype.latin1Slice`,
 * which reads any Uint8Array) when it spells a probe right, so that a record costs no Buffer view
 * (making one costs more than the string); else through the documented `toString` of a view, as
 * `native` is undocumented. Exported for its test.
 */
export function latin1Slicer(native: unknown): (bytes: Uint8Array, start: number, end: number) => string {
  if (typeof native === 'function') {
    const slice = native as (this: Uint8Array, start: number, end: number) => string;
    const probe = new Uint8Array([0x74, 0x69, 0x6c, 0x6c]);
    let works = false;
    try {
      works = slice.call(probe, 1, 3) === 'il';
    } catch {
      works = false;
    }
    if (works) return (bytes, start, end) => slice.call(bytes, start, end);
  }
  return (bytes, start, end) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, end);
}

const sliceLatin1 = latin1Slicer((Buffer.prototype as { latin1Slice?: unknown }).latin1Slice);

/** A string of `bytes[start…end)`: latin1 when every byte is ASCII (the common case), else strict UTF-8. */
function textOf(bytes: Uint8Array, start: number, end: number): string {
  for (let index = start; index < end; index++)
    if (bytes[index]! >= 0x80) return utf8.decode(bytes.subarray(start, end));
  return sliceLatin1(bytes, start, end);
}

/** `textOf` of bytes already checked (`Cursor.utf8`), which told whether they are all ASCII. */
const checkedTextOf = (bytes: Uint8Array, start: number, end: number, ascii: boolean): string =>
  ascii ? sliceLatin1(bytes, start, end) : utf8.decode(bytes.subarray(start, end));

function hexOf(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let index = start; index < end; index++) text += HEX[bytes[index]!];
  return text;
}

/**
 * Texts that recur from record to record (locations, zones, categories, files), found by their
 * bytes, so a record costs no string for them once they are known. A slot holds the bytes and the
 * string of the last text that hashed to it; a miss decodes and replaces it.
 */
class RecurringBytes {
  private readonly keys: (Uint8Array | undefined)[];
  private readonly texts: string[];
  private readonly mask: number;

  constructor(slotBits: number) {
    this.keys = new Array<Uint8Array | undefined>(1 << slotBits).fill(undefined);
    this.texts = new Array<string>(1 << slotBits).fill('');
    this.mask = (1 << slotBits) - 1;
  }

  /** The text of `bytes[start…end)`, hex-spelled when `hex`. */
  of(bytes: Uint8Array, start: number, end: number, hex: boolean): string {
    const length = end - start;
    const flag = hex ? 1 : 0;
    // A guess from the length and up to eight bytes spread over the text; the bytes are compared.
    let hash = Math.imul(length + 1, 0x9e3779b1) ^ flag;
    const step = length > 8 ? length >> 3 : 1;
    for (let index = start; index < end; index += step) hash = Math.imul(hash ^ bytes[index]!, 0x01000193);
    const slot = (hash ^ (hash >>> 15)) & this.mask;
    const key = this.keys[slot];
    if (key !== undefined && key.length === length + 1 && key[length] === flag) {
      let same = true;
      for (let index = 0; index < length; index++) {
        if (key[index] !== bytes[start + index]) {
          same = false;
          break;
        }
      }
      if (same) return this.texts[slot]!;
    }
    const text = hex ? hexOf(bytes, start, end) : textOf(bytes, start, end);
    const stored = new Uint8Array(length + 1);
    stored.set(bytes.subarray(start, end));
    stored[length] = flag;
    this.keys[slot] = stored;
    this.texts[slot] = text;
    return text;
  }
}

const Recurring = {
  restaurantId: new RecurringBytes(8),
  timeZone: new RecurringBytes(8),
  category: new RecurringBytes(8),
  file: new RecurringBytes(8),
  contentHash: new RecurringBytes(8),
  groupName: new RecurringBytes(8),
  optionName: new RecurringBytes(8),
} as const;

/**
 * A cursor over one record; each read checks its bounds and throws `BinaryRecordError` naming the
 * field as the JSON schema does (`L.0.q`: line 0's quantity). Field names are built only then.
 */
class Cursor {
  position = 1;
  /** The list being read (`L`, `P`, `X`; empty at the top) and the row in it. */
  list = '';
  row = 0;
  /** Whether the last `text` was hex. */
  hex = false;
  /** Whether the bytes of the last `utf8` check were all ASCII. */
  ascii = true;

  constructor(readonly bytes: Uint8Array) {}

  fail(name: string, problem: string): never {
    throw new BinaryRecordError(
      `${this.list === '' ? name : `${this.list}.${this.row}.${name}`}: ${problem}`,
    );
  }

  varint(name: string): number {
    const bytes = this.bytes;
    // One byte, the common case (lengths, counts, quantities, flags).
    const first = bytes[this.position];
    if (first !== undefined && first < 0x80) {
      this.position++;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (let count = 0; count < 8; count++) {
      const byte = bytes[this.position++];
      if (byte === undefined) return this.fail(name, 'the record ends inside a number');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80)
        return value <= Number.MAX_SAFE_INTEGER ? value : this.fail(name, 'must be a safe integer');
      scale *= 0x80;
    }
    return this.fail(name, 'must be a safe integer');
  }

  zigzag(name: string): number {
    const value = this.varint(name);
    // Halved as a number: a safe integer's zigzag exceeds 2^31, so no bit operations here; and
    // without `%`, which costs a library call on a number beyond 2^31 (an instant's zigzag).
    const half = Math.floor(value / 2);
    return value === half * 2 ? half : -half - 1;
  }

  /** Moves past `length` bytes and returns where they start. */
  skip(length: number, name: string): number {
    const start = this.position;
    if (start + length > this.bytes.length) this.fail(name, 'the record ends inside it');
    this.position = start + length;
    return start;
  }

  /** The start of a `str` (it ends where the cursor is after), checked as UTF-8 when not ASCII. */
  str(name: string, nonEmpty: boolean): number {
    const length = this.varint(name);
    if (nonEmpty && length === 0) this.fail(name, 'must not be empty');
    const start = this.skip(length, name);
    this.utf8(start, name);
    return start;
  }

  /** The start of a `text`; `hex` says how it is spelled. */
  text(name: string): number {
    const header = this.varint(name);
    this.hex = header % 2 === 1;
    const length = Math.floor(header / 2);
    if (this.hex && length % 2 !== 0) this.fail(name, 'hex of an odd length');
    const start = this.skip(this.hex ? length / 2 : length, name);
    if (!this.hex) this.utf8(start, name);
    return start;
  }

  /** Checks that `bytes[start…position)` is UTF-8. */
  utf8(start: number, name: string): void {
    const bytes = this.bytes;
    const end = this.position;
    // Every byte ASCII (the common case), four at a time.
    let any = 0;
    let index = start;
    for (; index + 4 <= end; index += 4)
      any |= bytes[index]! | bytes[index + 1]! | bytes[index + 2]! | bytes[index + 3]!;
    for (; index < end; index++) any |= bytes[index]!;
    this.ascii = any < 0x80;
    if (this.ascii) return;
    try {
      utf8.decode(bytes.subarray(start, end));
    } catch {
      this.fail(name, 'is not UTF-8');
    }
  }

  /** A `str` as a string, through `recurring` when given. */
  string(name: string, nonEmpty: boolean, recurring: RecurringBytes | null): string {
    const start = this.str(name, nonEmpty);
    return recurring === null
      ? checkedTextOf(this.bytes, start, this.position, this.ascii)
      : recurring.of(this.bytes, start, this.position, false);
  }

  /** A `text` as a string, through `recurring` when given. */
  textString(name: string, recurring: RecurringBytes | null): string {
    const start = this.text(name);
    if (recurring !== null) return recurring.of(this.bytes, start, this.position, this.hex);
    return this.hex
      ? hexOf(this.bytes, start, this.position)
      : checkedTextOf(this.bytes, start, this.position, this.ascii);
  }

  lineage(): Lineage {
    const file = this.string('g.0', true, Recurring.file);
    const contentHash = this.textString('g.1', Recurring.contentHash);
    const row = this.varint('g.2');
    if (row < 1) this.fail('g.2', 'must be at least 1');
    return { file, contentHash, row, arrival: this.varint('g.3') };
  }

  /** Moves past a lineage, checking it. */
  skipLineage(): void {
    this.str('g.0', true);
    this.text('g.1');
    if (this.varint('g.2') < 1) this.fail('g.2', 'must be at least 1');
    this.varint('g.3');
  }
}

/** A category of an event's lines: its items and net cents (options on its lines included). */
export interface CategorySummary {
  readonly category: string;
  items: number;
  netCents: number;
}

/**
 * What an order's contribution needs from an event whose rows, alone, are the order's state: of
 * distinct identities, at least one line, no retraction. Categories in the order their first line
 * comes; options counted on their line's category.
 */
export interface EventSummary {
  /** The deciding line's (earliest instant, then first file, then first row) fields. */
  readonly restaurantId: string;
  readonly timeZone: string;
  readonly customerId: string | null;
  readonly instantMs: number;
  readonly isLoyalty: boolean;
  readonly items: number;
  /** Lines, and options on the record's lines. */
  readonly netCents: number;
  /** −Σ negative options, ≥ 0. */
  readonly discountCents: number;
  /** Distinct categories. Owned by the summary's reader: `summaryContribution` hands it on. */
  readonly categories: CategorySummary[];
}

/** Identities are compared pairwise up to this many rows of a kind; beyond, no summary. */
const SUMMARY_ROW_LIMIT = 16;

/** Equal bytes in two ranges of one record. */
function sameBytes(bytes: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let index = 0; index < aEnd - a; index++) if (bytes[a + index] !== bytes[b + index]) return false;
  return true;
}

/** A line's fields built from its start (the record was validated). */
function buildLine(bytes: Uint8Array, start: number): EventLine {
  const cursor = new Cursor(bytes);
  cursor.position = start;
  return readLine(cursor);
}

function readLine(cursor: Cursor): EventLine {
  const lineItemId = cursor.string('i', true, null);
  const restaurantId = cursor.string('r', true, Recurring.restaurantId);
  const timeZone = cursor.string('z', true, Recurring.timeZone);
  const createdAtMs = cursor.zigzag('t');
  const user = cursor.varint('u');
  let userId: string | null = null;
  if (user > 0) {
    if (user === 1) cursor.fail('u', 'must not be empty');
    const start = cursor.skip(user - 1, 'u');
    cursor.utf8(start, 'u');
    userId = checkedTextOf(cursor.bytes, start, cursor.position, cursor.ascii);
  }
  const loyalty = cursor.bytes[cursor.skip(1, 'y')];
  if (loyalty !== 0 && loyalty !== 1) cursor.fail('y', 'must be 0 or 1');
  const category = cursor.string('c', true, Recurring.category);
  const unitPriceCents = cursor.varint('p');
  const quantity = cursor.varint('q');
  if (quantity < 1) cursor.fail('q', 'must be at least 1');
  const lineage = cursor.lineage();
  return {
    lineItemId,
    restaurantId,
    timeZone,
    createdAtMs,
    userId,
    isLoyalty: loyalty === 1,
    category,
    unitPriceCents,
    quantity,
    lineage,
  };
}

function readOption(cursor: Cursor, lines: readonly EventLine[]): EventOption {
  const line = cursor.varint('i');
  if (line > lines.length) cursor.fail('i', `names line ${line} of ${lines.length}`);
  const lineItemId = line > 0 ? lines[line - 1]!.lineItemId : cursor.string('i', true, null);
  const groupName = cursor.string('n', false, Recurring.groupName);
  const optionName = cursor.string('m', false, Recurring.optionName);
  const priceCents = cursor.zigzag('p');
  const quantity = cursor.varint('q');
  if (quantity < 1) cursor.fail('q', 'must be at least 1');
  const lineage = cursor.lineage();
  return { lineItemId, groupName, optionName, priceCents, quantity, lineage };
}

/** Every field of a record, built and validated: what `BinaryOrderEvent` builds on first use. */
function readWhole(bytes: Uint8Array): OrderEvent {
  if (bytes[0] !== BINARY_EVENT_VERSION) throw new BinaryRecordError('v: not a binary order event');
  const cursor = new Cursor(bytes);
  const eventId = cursor.textString('e', null);
  if (eventId === '') cursor.fail('e', 'must not be empty');
  const orderId = cursor.string('o', true, null);
  const lines: EventLine[] = [];
  const lineCount = cursor.varint('L');
  cursor.list = 'L';
  for (cursor.row = 0; cursor.row < lineCount; cursor.row++) lines.push(readLine(cursor));
  cursor.list = '';
  const options: EventOption[] = [];
  const optionCount = cursor.varint('P');
  cursor.list = 'P';
  for (cursor.row = 0; cursor.row < optionCount; cursor.row++) options.push(readOption(cursor, lines));
  const retractedSources = readSources(cursor);
  return retractedSources === undefined
    ? { eventId, orderId, lines, options }
    : { eventId, orderId, lines, options, retractedSources };
}

function readSources(cursor: Cursor): RetractedSource[] | undefined {
  cursor.list = '';
  const count = cursor.varint('X');
  cursor.list = 'X';
  let sources: RetractedSource[] | undefined;
  for (cursor.row = 0; cursor.row < count; cursor.row++) {
    const file = cursor.string('0', true, null);
    const contentHash = cursor.textString('1', null);
    sources ??= [];
    sources.push({ file, contentHash });
  }
  cursor.list = '';
  if (cursor.position !== cursor.bytes.length) cursor.fail('X', 'the record goes on after its end');
  return sources;
}

/**
 * One decoded binary record. `orderId`, `retractedSources` and `summary` are read with the record;
 * `eventId`, `lines` and `options` are built on first use (and kept).
 */
export class BinaryOrderEvent implements OrderEvent {
  readonly orderId: string;
  readonly retractedSources?: readonly RetractedSource[];
  /** `null` when the event alone is not an order's state (see `EventSummary`). */
  readonly summary: EventSummary | null;
  readonly #bytes: Uint8Array;
  #whole: OrderEvent | undefined;

  constructor(
    bytes: Uint8Array,
    orderId: string,
    retractedSources: readonly RetractedSource[] | undefined,
    summary: EventSummary | null,
  ) {
    this.#bytes = bytes;
    this.orderId = orderId;
    if (retractedSources !== undefined) this.retractedSources = retractedSources;
    this.summary = summary;
  }

  /** The record's bytes, as read. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  get eventId(): string {
    return this.#built().eventId;
  }

  get lines(): readonly EventLine[] {
    return this.#built().lines;
  }

  get options(): readonly EventOption[] {
    return this.#built().options;
  }

  #built(): OrderEvent {
    this.#whole ??= readWhole(this.#bytes);
    return this.#whole;
  }
}

// Scratch lists of the reader, reused from record to record (the reader is not re-entrant).
const lineIds: number[] = [];
const lineFigures: CategorySummary[] = [];
const optionIdentities: number[] = [];

/**
 * Reads and validates a binary record, and sums its summary; throws `BinaryRecordError` naming
 * the field at fault. Builds no row.
 *
 * @example
 * const event = readBinaryOrderEvent(record.Data);
 */
export function readBinaryOrderEvent(bytes: Uint8Array): BinaryOrderEvent {
  if (bytes[0] !== BINARY_EVENT_VERSION) throw new BinaryRecordError('v: not a binary order event');
  const cursor = new Cursor(bytes);
  const eventStart = cursor.text('e');
  if (cursor.position === eventStart) cursor.fail('e', 'must not be empty');
  const orderStart = cursor.str('o', true);
  const orderId = checkedTextOf(bytes, orderStart, cursor.position, cursor.ascii);

  const lineCount = cursor.varint('L');
  let distinct = lineCount <= SUMMARY_ROW_LIMIT;
  // Entries past these counts are an earlier record's; every read below stays under them.
  let lineIdCount = 0;
  let optionIdentityCount = 0;
  // A list, not a Map: an order names a category or three, and a scan costs less than a Map.
  // Made with its first category (a list grown by its first push would reserve seventeen).
  let categories: CategorySummary[] | undefined;
  let netCents = 0;
  let items = 0;
  let isLoyalty = false;
  let decider = -1;
  let deciderStart = 0;
  let deciderAt = 0;
  let deciderArrival = 0;
  let deciderRow = 0;
  let restaurantStart = 0;
  let restaurantEnd = 0;
  let zoneStart = 0;
  let zoneEnd = 0;
  let userStart = -1;
  let userEnd = 0;
  let userAscii = true;
  cursor.list = 'L';
  for (let index = 0; index < lineCount; index++) {
    cursor.row = index;
    const start = cursor.position;
    const idStart = cursor.str('i', true);
    const idEnd = cursor.position;
    const lineRestaurant = cursor.str('r', true);
    const lineRestaurantEnd = cursor.position;
    const lineZone = cursor.str('z', true);
    const lineZoneEnd = cursor.position;
    const createdAtMs = cursor.zigzag('t');
    const user = cursor.varint('u');
    let lineUser = -1;
    let lineUserAscii = true;
    if (user > 0) {
      if (user === 1) cursor.fail('u', 'must not be empty');
      lineUser = cursor.skip(user - 1, 'u');
      cursor.utf8(lineUser, 'u');
      lineUserAscii = cursor.ascii;
    }
    const lineUserEnd = cursor.position;
    const loyalty = bytes[cursor.skip(1, 'y')];
    if (loyalty !== 0 && loyalty !== 1) cursor.fail('y', 'must be 0 or 1');
    const categoryStart = cursor.str('c', true);
    const categoryEnd = cursor.position;
    const price = cursor.varint('p');
    const quantity = cursor.varint('q');
    if (quantity < 1) cursor.fail('q', 'must be at least 1');
    cursor.str('g.0', true);
    cursor.text('g.1');
    const row = cursor.varint('g.2');
    if (row < 1) cursor.fail('g.2', 'must be at least 1');
    const arrival = cursor.varint('g.3');

    if (!distinct) continue;
    for (let other = 0; other < lineIdCount; other += 2)
      if (sameBytes(bytes, lineIds[other]!, lineIds[other + 1]!, idStart, idEnd)) distinct = false;
    lineIds[lineIdCount++] = idStart;
    lineIds[lineIdCount++] = idEnd;
    const base = price * quantity;
    netCents += base;
    items += quantity;
    isLoyalty ||= loyalty === 1;
    const category = Recurring.category.of(bytes, categoryStart, categoryEnd, false);
    let figures: CategorySummary | undefined;
    if (categories !== undefined)
      for (const known of categories) {
        if (known.category !== category) continue;
        figures = known;
        break;
      }
    if (figures === undefined) {
      figures = { category, items: quantity, netCents: base };
      if (categories === undefined) categories = [figures];
      else categories.push(figures);
    } else {
      figures.items += quantity;
      figures.netCents += base;
    }
    lineFigures[index] = figures;
    const decides =
      decider < 0 ||
      createdAtMs < deciderAt ||
      (createdAtMs === deciderAt &&
        (arrival < deciderArrival ||
          (arrival === deciderArrival &&
            (row < deciderRow || (row === deciderRow && lineageBefore(bytes, start, deciderStart))))));
    if (decides) {
      decider = index;
      deciderStart = start;
      deciderAt = createdAtMs;
      deciderArrival = arrival;
      deciderRow = row;
      restaurantStart = lineRestaurant;
      restaurantEnd = lineRestaurantEnd;
      zoneStart = lineZone;
      zoneEnd = lineZoneEnd;
      userStart = lineUser;
      userEnd = lineUserEnd;
      userAscii = lineUserAscii;
    }
  }

  cursor.list = '';
  const optionCount = cursor.varint('P');
  if (optionCount > SUMMARY_ROW_LIMIT) distinct = false;
  let discountCents = 0;
  cursor.list = 'P';
  for (let index = 0; index < optionCount; index++) {
    cursor.row = index;
    const ref = cursor.varint('i');
    if (ref > lineCount) cursor.fail('i', `names line ${ref} of ${lineCount}`);
    let line = ref - 1;
    if (ref === 0) {
      const idStart = cursor.str('i', true);
      line = -1;
      // A writer may spell out a LINEITEM_ID that one of the record's lines has.
      for (let other = 0; distinct && other < lineIdCount; other += 2)
        if (sameBytes(bytes, lineIds[other]!, lineIds[other + 1]!, idStart, cursor.position))
          line = other / 2;
      // An option of a line the record does not hold: left to the general merge.
      if (line < 0) distinct = false;
    }
    const groupStart = cursor.str('n', false);
    const groupEnd = cursor.position;
    const nameStart = cursor.str('m', false);
    const nameEnd = cursor.position;
    const price = cursor.zigzag('p');
    const quantity = cursor.varint('q');
    if (quantity < 1) cursor.fail('q', 'must be at least 1');
    cursor.skipLineage();

    if (!distinct) continue;
    for (let other = 0; other < optionIdentityCount; other += 5) {
      if (
        optionIdentities[other] === line &&
        sameBytes(bytes, optionIdentities[other + 1]!, optionIdentities[other + 2]!, groupStart, groupEnd) &&
        sameBytes(bytes, optionIdentities[other + 3]!, optionIdentities[other + 4]!, nameStart, nameEnd)
      )
        distinct = false;
    }
    optionIdentities[optionIdentityCount++] = line;
    optionIdentities[optionIdentityCount++] = groupStart;
    optionIdentities[optionIdentityCount++] = groupEnd;
    optionIdentities[optionIdentityCount++] = nameStart;
    optionIdentities[optionIdentityCount++] = nameEnd;
    const amount = price * quantity;
    netCents += amount;
    if (amount < 0) discountCents -= amount;
    lineFigures[line]!.netCents += amount;
  }

  const retractedSources = readSources(cursor);
  const summary: EventSummary | null =
    distinct && categories !== undefined && retractedSources === undefined
      ? {
          restaurantId: Recurring.restaurantId.of(bytes, restaurantStart, restaurantEnd, false),
          timeZone: Recurring.timeZone.of(bytes, zoneStart, zoneEnd, false),
          customerId: userStart < 0 ? null : checkedTextOf(bytes, userStart, userEnd, userAscii),
          instantMs: deciderAt,
          isLoyalty,
          items,
          netCents,
          discountCents,
          categories,
        }
      : null;
  return new BinaryOrderEvent(bytes, orderId, retractedSources, summary);
}

/**
 * Whether the lineage of the line at `start` comes before that of the line at `other` when their
 * arrival and row are equal: by file, then content hash (`compareLineage`). Rare: builds both.
 */
function lineageBefore(bytes: Uint8Array, start: number, other: number): boolean {
  const a = buildLine(bytes, start).lineage;
  const b = buildLine(bytes, other).lineage;
  if (a.file !== b.file) return a.file < b.file;
  return a.contentHash < b.contentHash;
}
