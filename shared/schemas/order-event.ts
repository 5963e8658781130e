/**
 * The stream record (the transformed layer): one order event = the accepted line rows and option
 * rows of ONE order that one file contributed. A later file's rows for the same order are another
 * event of the same shape (an amendment). The partition key is the ORDER_ID.
 *
 * Producers write the binary record (version 3, `order-event-binary.ts`); `decodeOrderEvent` reads
 * it and the JSON record below, which the stream carried before and which stays the ledger's text
 * form of an order state (`encodeOrderState`). The JSON schema here is the definition of a valid
 * event for both.
 *
 * The JSON is compact, with short keys, because Kinesis bills and throttles by bytes:
 *
 * | key | meaning |
 * |---|---|
 * | `v` | schema version, `1` |
 * | `e` | event id: unique per (file content, order), so a re-sent event has the same id |
 * | `o` | ORDER_ID |
 * | `L` | line rows: `i` LINEITEM_ID, `r` RESTAURANT_ID, `z` the location's IANA zone (resolved by ingest), `t` CREATION_TIME_UTC (epoch ms), `u` USER_ID (`null` = guest), `y` IS_LOYALTY, `c` ITEM_CATEGORY (empty = `Uncategorized`), `p` ITEM_PRICE in cents, `q` ITEM_QUANTITY, `g` lineage |
 * | `P` | option rows: `i` LINEITEM_ID, `n` OPTION_GROUP_NAME, `m` OPTION_NAME, `p` OPTION_PRICE in cents (negative = discount), `q` OPTION_QUANTITY, `g` lineage |
 * | `g` | lineage `[file, contentHash, row, arrival]`: the file id, the SHA-256 of its bytes, the 1-based row after the header, and the file's arrival sequence in the raw layer |
 * | `X` | (optional; written as version 2) retracted sources `[file, contentHash]`: every row of the order from those file versions is withdrawn, whenever it arrives (`tillstream retract`) |
 *
 * A JSON record with retractions is written as version 2, so a processor that predates retraction
 * reports it as a poison record (kept for replay) instead of silently ignoring it; a record without
 * them stays version 1, byte for byte as before.
 *
 * The arrival sequence is part of the lineage because CONTRACT.md §2 breaks ties between lines of
 * the same instant by "first file, then first row", and file ids do not sort in arrival order.
 */
import { z } from 'zod';
import { BINARY_EVENT_VERSION, BinaryRecordError, readBinaryOrderEvent } from './order-event-binary.js';

export const ORDER_EVENT_VERSION = 1;
/** The version of a record that carries retractions (`X`). */
export const RETRACTION_EVENT_VERSION = 2;

/** Where a row came from: enough to find it in the raw layer and to order it against other rows. */
export interface Lineage {
  /** Source path (folder) or Drive file id. */
  readonly file: string;
  /** SHA-256 (hex) of the file's bytes, so a re-uploaded file with other content is another source. */
  readonly contentHash: string;
  /** 1-based CSV record number after the header. */
  readonly row: number;
  /** The file's arrival sequence in the raw layer: files are taken in this order. */
  readonly arrival: number;
}

/** An accepted `order_items` row of the event's order. */
export interface EventLine {
  readonly lineItemId: string;
  readonly restaurantId: string;
  /** IANA zone of the restaurant, resolved by ingest from the locations file or the default. */
  readonly timeZone: string;
  readonly createdAtMs: number;
  /** `null` for a guest order. */
  readonly userId: string | null;
  readonly isLoyalty: boolean;
  readonly category: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineage: Lineage;
}

/** An accepted `order_item_options` row of the event's order. */
export interface EventOption {
  readonly lineItemId: string;
  readonly groupName: string;
  readonly optionName: string;
  /** Negative = a discount. */
  readonly priceCents: number;
  readonly quantity: number;
  readonly lineage: Lineage;
}

/** A file version withdrawn by `tillstream retract`: the `file` and `contentHash` of its rows' lineage. */
export interface RetractedSource {
  readonly file: string;
  readonly contentHash: string;
}

/** One order event, decoded. */
export interface OrderEvent {
  readonly eventId: string;
  readonly orderId: string;
  readonly lines: readonly EventLine[];
  readonly options: readonly EventOption[];
  /** Sources whose rows of this order are withdrawn; absent or empty on an ordinary event. */
  readonly retractedSources?: readonly RetractedSource[];
}

const cents = z.number().int().refine(Number.isSafeInteger, 'must be a safe integer');
const count = z.number().int().min(1).refine(Number.isSafeInteger, 'must be a safe integer');
const nonEmpty = z.string().min(1);
const wireLineage = z.tuple([nonEmpty, z.string(), z.number().int().min(1), z.number().int().min(0)]);

const wireLine = z.object({
  i: nonEmpty,
  r: nonEmpty,
  z: nonEmpty,
  t: z.number().int(),
  u: z.string().min(1).nullable(),
  y: z.boolean(),
  c: nonEmpty,
  p: cents.min(0),
  q: count,
  g: wireLineage,
});

const wireOption = z.object({
  i: nonEmpty,
  n: z.string(),
  m: z.string(),
  p: cents,
  q: count,
  g: wireLineage,
});

const wireRetraction = z.tuple([nonEmpty, z.string()]);

const wireEvent = z.object({
  v: z.union([z.literal(ORDER_EVENT_VERSION), z.literal(RETRACTION_EVENT_VERSION)]),
  e: nonEmpty,
  o: nonEmpty,
  L: z.array(wireLine),
  P: z.array(wireOption),
  X: z.array(wireRetraction).optional(),
});

type WireEvent = z.infer<typeof wireEvent>;
type WireLineage = z.infer<typeof wireLineage>;

/** A stream record that is not a valid order event: reported, never applied, never fatal to the shard. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
  constructor(
    message: string,
    /** The record's sequence number or another locator, when known. */
    readonly locator: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const toLineage = ([file, contentHash, row, arrival]: WireLineage): Lineage => ({
  file,
  contentHash,
  row,
  arrival,
});

const fromLineage = (lineage: Lineage): WireLineage => [
  lineage.file,
  lineage.contentHash,
  lineage.row,
  lineage.arrival,
];

/**
 * The record's bytes for Kinesis.
 *
 * @example
 * const data = encodeOrderEvent(event);
 * await putRecords(kinesis, stream, [{ partitionKey: event.orderId, data }]);
 */
export function encodeOrderEvent(event: OrderEvent): Uint8Array {
  const retracted = event.retractedSources ?? [];
  const wire: WireEvent = {
    v: retracted.length > 0 ? RETRACTION_EVENT_VERSION : ORDER_EVENT_VERSION,
    e: event.eventId,
    o: event.orderId,
    L: event.lines.map((line) => ({
      i: line.lineItemId,
      r: line.restaurantId,
      z: line.timeZone,
      t: line.createdAtMs,
      u: line.userId,
      y: line.isLoyalty,
      c: line.category,
      p: line.unitPriceCents,
      q: line.quantity,
      g: fromLineage(line.lineage),
    })),
    P: event.options.map((option) => ({
      i: option.lineItemId,
      n: option.groupName,
      m: option.optionName,
      p: option.priceCents,
      q: option.quantity,
      g: fromLineage(option.lineage),
    })),
    ...(retracted.length > 0
      ? { X: retracted.map((source): [string, string] => [source.file, source.contentHash]) }
      : {}),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

/**
 * The event as a plain object: the same fields, with rows built (a binary record's event builds
 * them on first use), for comparison and for writing it in another form.
 *
 * @example
 * expect(plainOrderEvent(decodeOrderEvent(encodeBinaryOrderEvent(event)))).toEqual(event);
 */
export function plainOrderEvent(event: OrderEvent): OrderEvent {
  const { eventId, orderId, lines, options, retractedSources } = event;
  return retractedSources === undefined
    ? { eventId, orderId, lines, options }
    : { eventId, orderId, lines, options, retractedSources };
}

/** One decoder for every record: `fatal` makes invalid UTF-8 an error instead of U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Json = unknown;

const isRecord = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isNonEmpty = (value: Json): value is string => typeof value === 'string' && value.length > 0;
const isSafeInteger = (value: Json): value is number => Number.isSafeInteger(value);
const isCount = (value: Json): boolean => Number.isSafeInteger(value) && (value as number) >= 1;

/**
 * The wire lineage as a `Lineage`, or `undefined` when it does not match `wireLineage`. Every fast
 * check below accepts a subset of what the zod schema accepts (anything else goes to zod), so the
 * schema stays the one definition of a valid record and of its error messages.
 */
function fastLineage(value: Json): Lineage | undefined {
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [file, contentHash, row, arrival] = value as Json[];
  if (!isNonEmpty(file) || typeof contentHash !== 'string' || !isCount(row)) return undefined;
  if (!isSafeInteger(arrival) || arrival < 0) return undefined;
  return { file, contentHash, row: row as number, arrival };
}

function fastLine(value: Json): EventLine | undefined {
  if (!isRecord(value)) return undefined;
  const { i, r, z: zone, t, u, y, c, p, q, g } = value;
  if (!isNonEmpty(i) || !isNonEmpty(r) || !isNonEmpty(zone) || !isSafeInteger(t)) return undefined;
  if (!(u === null || isNonEmpty(u)) || typeof y !== 'boolean' || !isNonEmpty(c)) return undefined;
  if (!isSafeInteger(p) || p < 0 || !isCount(q)) return undefined;
  const lineage = fastLineage(g);
  if (lineage === undefined) return undefined;
  return {
    lineItemId: i,
    restaurantId: r,
    timeZone: zone,
    createdAtMs: t,
    userId: u,
    isLoyalty: y,
    category: c,
    unitPriceCents: p,
    quantity: q as number,
    lineage,
  };
}

function fastOption(value: Json): EventOption | undefined {
  if (!isRecord(value)) return undefined;
  const { i, n, m, p, q, g } = value;
  if (!isNonEmpty(i) || typeof n !== 'string' || typeof m !== 'string') return undefined;
  if (!isSafeInteger(p) || !isCount(q)) return undefined;
  const lineage = fastLineage(g);
  if (lineage === undefined) return undefined;
  return { lineItemId: i, groupName: n, optionName: m, priceCents: p, quantity: q as number, lineage };
}

/** The event when `json` is a valid wire event, else `undefined` (then zod says why, or accepts it). */
function fastEvent(json: Json): OrderEvent | undefined {
  if (!isRecord(json)) return undefined;
  const { v, e, o, L, P, X } = json;
  if (v !== ORDER_EVENT_VERSION && v !== RETRACTION_EVENT_VERSION) return undefined;
  if (!isNonEmpty(e) || !isNonEmpty(o)) return undefined;
  if (!Array.isArray(L) || !Array.isArray(P)) return undefined;
  const lines: EventLine[] = [];
  for (const wireLine of L as Json[]) {
    const line = fastLine(wireLine);
    if (line === undefined) return undefined;
    lines.push(line);
  }
  const options: EventOption[] = [];
  for (const wireOption of P as Json[]) {
    const option = fastOption(wireOption);
    if (option === undefined) return undefined;
    options.push(option);
  }
  if (X === undefined) return { eventId: e, orderId: o, lines, options };
  if (!Array.isArray(X)) return undefined;
  const retractedSources: RetractedSource[] = [];
  for (const wireSource of X as Json[]) {
    if (!Array.isArray(wireSource) || wireSource.length !== 2) return undefined;
    const [file, contentHash] = wireSource as Json[];
    if (!isNonEmpty(file) || typeof contentHash !== 'string') return undefined;
    retractedSources.push({ file, contentHash });
  }
  return { eventId: e, orderId: o, lines, options, retractedSources };
}

/**
 * Characters a JSON string escapes or never holds raw. The canonical reader declines a string value
 * holding any of them (the record is then left to `JSON.parse`); every other character of a record
 * it reads is one of its literals or a digit, so a record it accepts holds none of them anywhere.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings cannot hold these raw.
const ESCAPE_OR_CONTROL = /[\\\u0000-\u001f]/;

const QUOTE = 0x22;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Integers of up to 15 digits are exact in a double, and JSON.parse reads them to the same number. */
const MAX_INTEGER_DIGITS = 15;

/** A copy of `text` that shares no memory with the string it was sliced from. */
const ownedCopy = (text: string): string => ` ${text}`.slice(1);

/**
 * The texts of one field that recur from record to record (locations, zones, categories, files,
 * option names, customers), one string per text. The reader hands these out instead of slices of
 * each record: a decoded row that outlives its record (in an order's state) then does not keep the
 * record's text alive, and the Maps keyed by these names meet strings whose hash is known.
 *
 * A text is first looked for in a small table indexed by its length and a few of its characters,
 * so a hit costs no hash; the Map of every text is the fallback.
 */
class RecurringTexts {
  private readonly slots: string[];
  private readonly mask: number;
  private readonly byText = new Map<string, string>();

  /**
   * @param slotBits The table has 2^slotBits entries.
   * @param limit Distinct texts kept at most; the bound only stops a pathological input.
   */
  constructor(
    slotBits: number,
    private readonly limit: number,
  ) {
    this.slots = new Array<string>(1 << slotBits).fill('');
    this.mask = (1 << slotBits) - 1;
  }

  /** The string of `text[start…end)`, or `undefined` when it holds a character `ESCAPE_OR_CONTROL` matches. */
  of(text: string, start: number, end: number): string | undefined {
    const length = end - start;
    // Any characters would do (the slot is only a guess, checked below); for a short text some of
    // these are the quotes around it.
    const slot =
      (length * 31 +
        text.charCodeAt(start) * 7 +
        text.charCodeAt(start + (length >> 1)) * 131 +
        text.charCodeAt(end - 1) * 1031 +
        text.charCodeAt(end - 2) * 8191) &
      this.mask;
    // A slice compared with `===` costs a fraction of comparing in place code by code (or with
    // `startsWith`), and a slice that is not kept dies young.
    const value = text.slice(start, end);
    const candidate = this.slots[slot]!;
    if (candidate === value) return candidate;
    // Only checked texts are kept, so a text found is one without escapes or control characters.
    let owned = this.byText.get(value);
    if (owned === undefined) {
      if (ESCAPE_OR_CONTROL.test(value)) return undefined;
      if (this.byText.size >= this.limit) this.byText.clear();
      owned = ownedCopy(value);
      this.byText.set(owned, owned);
    }
    this.slots[slot] = owned;
    return owned;
  }
}

/** The recurring texts of one kind of row's lineage. */
interface LineageTexts {
  readonly file: RecurringTexts;
  readonly contentHash: RecurringTexts;
}

/** A field of a few distinct texts: a chain's locations, zones, categories, files, option names. */
const few = (): RecurringTexts => new RecurringTexts(8, 10_000);

const Recurring = {
  restaurantId: few(),
  timeZone: few(),
  category: few(),
  groupName: few(),
  optionName: few(),
  /** Customers order again; bounded to a chain of tens of thousands of them. */
  userId: new RecurringTexts(12, 100_000),
  /** Lines and options come from different files: each kind keeps its own. */
  lineLineage: { file: few(), contentHash: few() } satisfies LineageTexts,
  optionLineage: { file: few(), contentHash: few() } satisfies LineageTexts,
} as const;

/**
 * A cursor over a record's text for `readCanonicalOrderEvent`. A string value is the characters up
 * to the next quote, and is declined when they hold a backslash (an escaped quote among them) or a
 * control character (`ESCAPE_OR_CONTROL`).
 */
class CanonicalReader {
  private position = 0;

  constructor(private readonly text: string) {}

  /** Consumes `literal` when the text continues with it. */
  literal(literal: string): boolean {
    const text = this.text;
    const position = this.position;
    // Compared code by code: the literals are a few characters, and this inlines where
    // `startsWith` with a position is a call.
    for (let index = 0; index < literal.length; index++)
      if (text.charCodeAt(position + index) !== literal.charCodeAt(index)) return false;
    this.position = position + literal.length;
    return true;
  }

  /**
   * A string value, or `undefined` when none starts here. It is a slice of the record's text, which
   * V8 keeps alive with it: a cache that keeps such a string keeps a copy (`ownedString` in
   * aggregates/keys.ts).
   */
  string(): string | undefined {
    const start = this.position + 1;
    const end = this.stringEnd();
    if (end < 0) return undefined;
    const value = this.text.slice(start, end);
    return ESCAPE_OR_CONTROL.test(value) ? undefined : value;
  }

  /**
   * Moves past the string value starting here and returns the index of its closing quote (its
   * value starts after the quote the cursor was at); -1 when none starts here.
   */
  private stringEnd(): number {
    const text = this.text;
    if (text.charCodeAt(this.position) !== QUOTE) return -1;
    const end = text.indexOf('"', this.position + 1);
    if (end < 0) return -1;
    this.position = end + 1;
    return end;
  }

  /** A string value as a copy that keeps no part of the record alive, or `undefined`. */
  owned(): string | undefined {
    const value = this.string();
    return value === undefined ? undefined : ownedCopy(value);
  }

  /**
   * A string value as `texts` holds it (no slice of the record), or `undefined` when none starts
   * here.
   */
  recurring(texts: RecurringTexts): string | undefined {
    const start = this.position + 1;
    const end = this.stringEnd();
    return end < 0 ? undefined : texts.of(this.text, start, end);
  }

  /** A string value: one of `lines`' LINEITEM_IDs when it is one, else as `owned` reads it. */
  lineItemIdAmong(lines: readonly EventLine[]): string | undefined {
    const start = this.position + 1;
    const end = this.stringEnd();
    if (end < 0) return undefined;
    const value = this.text.slice(start, end);
    for (const line of lines) if (line.lineItemId === value) return line.lineItemId;
    return ESCAPE_OR_CONTROL.test(value) ? undefined : ownedCopy(value);
  }

  /**
   * An integer in JSON's own spelling (`-?(0|[1-9][0-9]*)`, at most 15 digits), or `NaN`. A
   * fraction or exponent is not consumed, so the literal the caller expects next does not match.
   */
  integer(): number {
    const text = this.text;
    let position = this.position;
    const negative = text.charCodeAt(position) === MINUS;
    if (negative) position++;
    const start = position;
    let value = 0;
    let code = text.charCodeAt(position);
    while (code >= DIGIT_0 && code <= DIGIT_9) {
      value = value * 10 + (code - DIGIT_0);
      code = text.charCodeAt(++position);
    }
    const digits = position - start;
    if (digits === 0 || digits > MAX_INTEGER_DIGITS) return Number.NaN;
    if (digits > 1 && text.charCodeAt(start) === DIGIT_0) return Number.NaN;
    this.position = position;
    // `-0` stays −0, as JSON.parse reads it.
    return negative ? -value : value;
  }

  /** True when the whole text has been read. */
  atEnd(): boolean {
    return this.position === this.text.length;
  }
}

function readCanonicalLineage(reader: CanonicalReader, texts: LineageTexts): Lineage | undefined {
  if (!reader.literal('[')) return undefined;
  const file = reader.recurring(texts.file);
  if (!file || !reader.literal(',')) return undefined;
  const contentHash = reader.recurring(texts.contentHash);
  if (contentHash === undefined || !reader.literal(',')) return undefined;
  const row = reader.integer();
  if (!(row >= 1) || !reader.literal(',')) return undefined;
  const arrival = reader.integer();
  if (!(arrival >= 0) || !reader.literal(']')) return undefined;
  return { file, contentHash, row, arrival };
}

function readCanonicalLine(reader: CanonicalReader): EventLine | undefined {
  if (!reader.literal('{"i":')) return undefined;
  const lineItemId = reader.owned();
  if (!lineItemId || !reader.literal(',"r":')) return undefined;
  const restaurantId = reader.recurring(Recurring.restaurantId);
  if (!restaurantId || !reader.literal(',"z":')) return undefined;
  const timeZone = reader.recurring(Recurring.timeZone);
  if (!timeZone || !reader.literal(',"t":')) return undefined;
  const createdAtMs = reader.integer();
  if (Number.isNaN(createdAtMs) || !reader.literal(',"u":')) return undefined;
  let userId: string | null = null;
  if (!reader.literal('null')) {
    const user = reader.recurring(Recurring.userId);
    if (!user) return undefined;
    userId = user;
  }
  if (!reader.literal(',"y":')) return undefined;
  let isLoyalty: boolean;
  if (reader.literal('true')) isLoyalty = true;
  else if (reader.literal('false')) isLoyalty = false;
  else return undefined;
  if (!reader.literal(',"c":')) return undefined;
  const category = reader.recurring(Recurring.category);
  if (!category || !reader.literal(',"p":')) return undefined;
  const unitPriceCents = reader.integer();
  if (!(unitPriceCents >= 0) || !reader.literal(',"q":')) return undefined;
  const quantity = reader.integer();
  if (!(quantity >= 1) || !reader.literal(',"g":')) return undefined;
  const lineage = readCanonicalLineage(reader, Recurring.lineLineage);
  if (lineage === undefined || !reader.literal('}')) return undefined;
  return {
    lineItemId,
    restaurantId,
    timeZone,
    createdAtMs,
    userId,
    isLoyalty,
    category,
    unitPriceCents,
    quantity,
    lineage,
  };
}

function readCanonicalOption(reader: CanonicalReader, lines: readonly EventLine[]): EventOption | undefined {
  if (!reader.literal('{"i":')) return undefined;
  const lineItemId = reader.lineItemIdAmong(lines);
  if (!lineItemId || !reader.literal(',"n":')) return undefined;
  const groupName = reader.recurring(Recurring.groupName);
  if (groupName === undefined || !reader.literal(',"m":')) return undefined;
  const optionName = reader.recurring(Recurring.optionName);
  if (optionName === undefined || !reader.literal(',"p":')) return undefined;
  const priceCents = reader.integer();
  if (Number.isNaN(priceCents) || !reader.literal(',"q":')) return undefined;
  const quantity = reader.integer();
  if (!(quantity >= 1) || !reader.literal(',"g":')) return undefined;
  const lineage = readCanonicalLineage(reader, Recurring.optionLineage);
  if (lineage === undefined || !reader.literal('}')) return undefined;
  return { lineItemId, groupName, optionName, priceCents, quantity, lineage };
}

function readCanonicalSource(reader: CanonicalReader): RetractedSource | undefined {
  if (!reader.literal('[')) return undefined;
  const file = reader.string();
  if (!file || !reader.literal(',')) return undefined;
  const contentHash = reader.string();
  if (contentHash === undefined || !reader.literal(']')) return undefined;
  return { file, contentHash };
}

/** The elements of a JSON list whose `[` has been read, through its `]`; `undefined` if one does not read. */
function readCanonicalList<T>(
  reader: CanonicalReader,
  element: (reader: CanonicalReader) => T | undefined,
): T[] | undefined {
  const values: T[] = [];
  if (reader.literal(']')) return values;
  for (;;) {
    const value = element(reader);
    if (value === undefined) return undefined;
    values.push(value);
    if (reader.literal(']')) return values;
    if (!reader.literal(',')) return undefined;
  }
}

/**
 * The event when `text` is spelled exactly as `encodeOrderEvent` writes it (keys in its order, no
 * white space, no escaped character) and is valid, else `undefined`. Such a text reads the same
 * here as through `JSON.parse` and the schema; any other text (valid or not) is left to them, so
 * they stay the one definition of a record. This is the processor's hot path: a reader of one known
 * layout costs a fraction of `JSON.parse` and the checks of its result.
 *
 * @example
 * const event = readCanonicalOrderEvent(new TextDecoder().decode(encodeOrderEvent(event)));
 */
export function readCanonicalOrderEvent(text: string): OrderEvent | undefined {
  const reader = new CanonicalReader(text);
  if (!reader.literal('{"v":')) return undefined;
  const version = reader.integer();
  if (version !== ORDER_EVENT_VERSION && version !== RETRACTION_EVENT_VERSION) return undefined;
  if (!reader.literal(',"e":')) return undefined;
  const eventId = reader.string();
  if (!eventId || !reader.literal(',"o":')) return undefined;
  const orderId = reader.owned();
  if (!orderId || !reader.literal(',"L":[')) return undefined;
  const lines = readCanonicalList(reader, readCanonicalLine);
  if (lines === undefined || !reader.literal(',"P":[')) return undefined;
  const options = readCanonicalList(reader, (optionReader) => readCanonicalOption(optionReader, lines));
  if (options === undefined) return undefined;
  if (reader.literal('}')) return reader.atEnd() ? { eventId, orderId, lines, options } : undefined;
  if (!reader.literal(',"X":[')) return undefined;
  const retractedSources = readCanonicalList(reader, readCanonicalSource);
  if (retractedSources === undefined || !reader.literal('}') || !reader.atEnd()) return undefined;
  return { eventId, orderId, lines, options, retractedSources };
}

/** The record's text; throws `PoisonRecordError` when its bytes are not UTF-8. */
function recordText(data: Uint8Array, locator: string | undefined): string {
  try {
    return utf8.decode(data);
  } catch (error) {
    throw notJson(error, locator);
  }
}

const notJson = (error: unknown, locator: string | undefined): PoisonRecordError =>
  new PoisonRecordError(`record ${locator ?? '?'} is not UTF-8 JSON: ${(error as Error).message}`, locator, {
    cause: error,
  });

/** `JSON.parse` of a record's text; throws `PoisonRecordError` when it is not JSON. */
function parseRecordText(text: string, locator: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw notJson(error, locator);
  }
}

/**
 * Decodes and validates one stream record, binary (its first byte is 3) or JSON; throws
 * `PoisonRecordError` naming the field at fault. A binary record's event builds its rows on first
 * use (`BinaryOrderEvent`).
 *
 * @example
 * const event = decodeOrderEvent(record.Data, record.SequenceNumber);
 */
export function decodeOrderEvent(data: Uint8Array, locator?: string): OrderEvent {
  if (data[0] === BINARY_EVENT_VERSION) {
    try {
      return readBinaryOrderEvent(data);
    } catch (error) {
      if (!(error instanceof BinaryRecordError)) throw error;
      throw new PoisonRecordError(
        `record ${locator ?? '?'} is not an order event: ${error.message}`,
        locator,
        {
          cause: error,
        },
      );
    }
  }
  const text = recordText(data, locator);
  const canonical = readCanonicalOrderEvent(text);
  if (canonical !== undefined) return canonical;
  const json = parseRecordText(text, locator);
  // The hand-written checks are the fast path for any other layout (zod's parse costs several
  // times the JSON.parse); a record they do not accept is judged by the schema.
  return fastEvent(json) ?? eventBySchema(json, locator);
}

/**
 * `decodeOrderEvent` without its fast paths: JSON.parse and the schema alone. The definition the
 * fast paths are tested against.
 *
 * @example
 * expect(decodeOrderEvent(data)).toEqual(decodeOrderEventBySchema(data));
 */
export function decodeOrderEventBySchema(data: Uint8Array, locator?: string): OrderEvent {
  return eventBySchema(parseRecordText(recordText(data, locator), locator), locator);
}

function eventBySchema(json: unknown, locator: string | undefined): OrderEvent {
  const parsed = wireEvent.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new PoisonRecordError(
      `record ${locator ?? '?'} is not an order event: ${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid'}`,
      locator,
      { cause: parsed.error },
    );
  }
  const wire = parsed.data;
  return {
    eventId: wire.e,
    orderId: wire.o,
    lines: wire.L.map((line) => ({
      lineItemId: line.i,
      restaurantId: line.r,
      timeZone: line.z,
      createdAtMs: line.t,
      userId: line.u,
      isLoyalty: line.y,
      category: line.c,
      unitPriceCents: line.p,
      quantity: line.q,
      lineage: toLineage(line.g),
    })),
    options: wire.P.map((option) => ({
      lineItemId: option.i,
      groupName: option.n,
      optionName: option.m,
      priceCents: option.p,
      quantity: option.q,
      lineage: toLineage(option.g),
    })),
    ...(wire.X === undefined
      ? {}
      : { retractedSources: wire.X.map(([file, contentHash]) => ({ file, contentHash })) }),
  };
}
