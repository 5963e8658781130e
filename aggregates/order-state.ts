/**
 * An order's state in the ledger: its accepted lines and options by business identity (CONTRACT.md
 * §1), per source (one version of one file), minus the sources that `tillstream retract` withdrew.
 *
 * The state is a function of the set of rows and retractions delivered so far: rows are kept per
 * (identity, source), a retracted source's rows are dropped whenever they arrive (before or after
 * the retraction), and the effective row of an identity is the first accepted among the remaining
 * sources. So merging stays idempotent, commutative and associative: duplicated and reordered
 * stream records cannot change the state, and the state alone decides the order's contribution.
 */
import {
  decodeOrderEvent,
  type EventLine,
  type EventOption,
  encodeOrderEvent,
  type Lineage,
  type OrderEvent,
  type RetractedSource,
} from '../shared/schemas/order-event.js';
import { BinaryOrderEvent } from '../shared/schemas/order-event-binary.js';

export interface OrderState {
  readonly orderId: string;
  /**
   * The effective row of each line identity (LINEITEM_ID; the order is implied), one per identity,
   * in the order the identities first arrived. An array, not a Map: an order has a few lines, and
   * the state of an order first seen in one event is that event's own list, with no copy.
   */
  readonly lines: readonly EventLine[];
  /** The effective row of each option identity (LINEITEM_ID, OPTION_GROUP_NAME, OPTION_NAME), as `lines`. */
  readonly options: readonly EventOption[];
  /**
   * Rows of other live sources that an earlier row of the same identity shadows, by
   * `identity + source`: retracting the earlier source brings the next one back. Empty unless
   * one identity reached the stream from two sources (a row re-accepted after a retraction).
   */
  readonly shadowedLines: ReadonlyMap<string, EventLine>;
  readonly shadowedOptions: ReadonlyMap<string, EventOption>;
  /** Retracted sources, by `sourceKey`. */
  readonly retracted: ReadonlyMap<string, RetractedSource>;
}

const NO_LINES: readonly EventLine[] = [];
const NO_OPTIONS: readonly EventOption[] = [];
const EMPTY_LINES: ReadonlyMap<string, EventLine> = new Map();
const EMPTY_OPTIONS: ReadonlyMap<string, EventOption> = new Map();
const NO_RETRACTIONS: ReadonlyMap<string, RetractedSource> = new Map();

/** The state of an order nothing is known about yet. */
export function emptyOrderState(orderId: string): OrderState {
  return {
    orderId,
    lines: NO_LINES,
    options: NO_OPTIONS,
    shadowedLines: EMPTY_LINES,
    shadowedOptions: EMPTY_OPTIONS,
    retracted: NO_RETRACTIONS,
  };
}

/** The key of a source (one version of one file): what a retraction names. */
export function sourceKey(source: Pick<Lineage, 'file' | 'contentHash'>): string {
  return JSON.stringify([source.file, source.contentHash]);
}

const sameSource = (a: Lineage, b: Lineage): boolean => a.file === b.file && a.contentHash === b.contentHash;

/** Characters `JSON.stringify` escapes in a string; without them a string's JSON is itself in quotes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these control characters.
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Identity of an option within its order; JSON keeps the three parts apart whatever they contain. */
export function optionKey(option: Pick<EventOption, 'lineItemId' | 'groupName' | 'optionName'>): string {
  const { lineItemId, groupName, optionName } = option;
  // The same text as the JSON below, built without it: this runs for every option of every record.
  if (!JSON_ESCAPED.test(lineItemId) && !JSON_ESCAPED.test(groupName) && !JSON_ESCAPED.test(optionName))
    return `["${lineItemId}","${groupName}","${optionName}"]`;
  return JSON.stringify([lineItemId, groupName, optionName]);
}

/** Total order of lineage: arrival sequence, then row, then file and content (for determinism). */
export function compareLineage(a: Lineage, b: Lineage): number {
  if (a.arrival !== b.arrival) return a.arrival - b.arrival;
  if (a.row !== b.row) return a.row - b.row;
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.contentHash !== b.contentHash) return a.contentHash < b.contentHash ? -1 : 1;
  return 0;
}

/**
 * Which of two rows with one identity comes first. Within a source the poller guarantees they
 * carry the same values, so only the row can differ; across sources the earlier arrival was
 * accepted first. A full comparison keeps the choice a total order, which makes the union
 * commutative.
 */
function firstAccepted<T extends { readonly lineage: Lineage }>(a: T, b: T): T {
  const byLineage = compareLineage(a.lineage, b.lineage);
  if (byLineage !== 0) return byLineage < 0 ? a : b;
  return JSON.stringify(a) <= JSON.stringify(b) ? a : b;
}

/** How the union finds a row's identity: its key (for long lists) and a comparison that builds none. */
interface RowIdentity<T> {
  readonly key: (row: T) => string;
  readonly same: (a: T, b: T) => boolean;
}

const LINE_IDENTITY: RowIdentity<EventLine> = {
  key: (line) => line.lineItemId,
  same: (a, b) => a.lineItemId === b.lineItemId,
};

const OPTION_IDENTITY: RowIdentity<EventOption> = {
  key: optionKey,
  // Equal `optionKey`s, without building them (the key is the JSON of these three fields).
  same: (a, b) =>
    a.lineItemId === b.lineItemId && a.groupName === b.groupName && a.optionName === b.optionName,
};

/** Up to this many rows, a row's identity is found by scanning; beyond, through a Map of keys. */
const SCAN_LIMIT = 16;

/** True when no two of `rows` share an identity. */
function distinctRows<T>(rows: readonly T[], identity: RowIdentity<T>): boolean {
  if (rows.length > SCAN_LIMIT) return new Set(rows.map(identity.key)).size === rows.length;
  for (let index = 1; index < rows.length; index++) {
    const row = rows[index]!;
    for (let other = 0; other < index; other++) if (identity.same(rows[other]!, row)) return false;
  }
  return true;
}

/**
 * The union of `rows` into `target` when every row is new or meets a row of its own source;
 * `undefined` when a row meets another source's row of its identity (the general merge decides).
 * Returns `target` itself when nothing changes, and `rows` itself (no copy) when `target` is empty
 * and `rows` are of distinct identities. A row replaced keeps its identity's place, a new identity
 * comes last, as a Map keeps its keys.
 */
function unionInto<T extends { readonly lineage: Lineage }>(
  target: readonly T[],
  rows: readonly T[],
  identity: RowIdentity<T>,
): readonly T[] | undefined {
  if (rows.length === 0) return target;
  if (target.length === 0 && distinctRows(rows, identity)) return rows;
  if (target.length + rows.length > SCAN_LIMIT) return unionByKey(target, rows, identity);
  let result: T[] | undefined;
  for (const row of rows) {
    const current = result ?? target;
    let at = 0;
    while (at < current.length && !identity.same(current[at]!, row)) at++;
    const existing = current[at];
    if (existing !== undefined && !sameSource(existing.lineage, row.lineage)) return undefined;
    const kept = existing === undefined ? row : firstAccepted(existing, row);
    if (kept === existing) continue;
    result ??= target.slice();
    result[at] = kept;
  }
  return result ?? target;
}

/** `unionInto` for long lists: identities by key in a Map. */
function unionByKey<T extends { readonly lineage: Lineage }>(
  target: readonly T[],
  rows: readonly T[],
  identity: RowIdentity<T>,
): readonly T[] | undefined {
  const byKey = new Map<string, T>();
  for (const row of target) byKey.set(identity.key(row), row);
  let changed = false;
  for (const row of rows) {
    const key = identity.key(row);
    const existing = byKey.get(key);
    if (existing !== undefined && !sameSource(existing.lineage, row.lineage)) return undefined;
    const kept = existing === undefined ? row : firstAccepted(existing, row);
    if (kept === existing) continue;
    byKey.set(key, kept);
    changed = true;
  }
  return changed ? [...byKey.values()] : target;
}

/** The canonical rows of one kind: per (identity, source) the first row, per identity the first of those. */
function canonicalRows<T extends { readonly lineage: Lineage }>(
  rows: Iterable<T>,
  identity: (row: T) => string,
  retracted: ReadonlyMap<string, RetractedSource>,
): { effective: Map<string, T>; shadowed: Map<string, T> } {
  const bySlot = new Map<string, T>();
  for (const row of rows) {
    const source = sourceKey(row.lineage);
    if (retracted.has(source)) continue;
    const slot = JSON.stringify([identity(row), source]);
    const current = bySlot.get(slot);
    bySlot.set(slot, current === undefined ? row : firstAccepted(current, row));
  }
  const effective = new Map<string, T>();
  for (const row of bySlot.values()) {
    const key = identity(row);
    const current = effective.get(key);
    effective.set(key, current === undefined ? row : firstAccepted(current, row));
  }
  const shadowed = new Map<string, T>();
  for (const [slot, row] of bySlot) if (effective.get(identity(row)) !== row) shadowed.set(slot, row);
  return { effective, shadowed };
}

/** The merge in general: retractions, rows from several sources per identity. */
function mergeGeneral(state: OrderState, event: OrderEvent): OrderState {
  const added = (event.retractedSources ?? []).filter((source) => !state.retracted.has(sourceKey(source)));
  const retracted: ReadonlyMap<string, RetractedSource> =
    added.length === 0
      ? state.retracted
      : new Map([
          ...state.retracted,
          ...added.map((source): [string, RetractedSource] => [
            sourceKey(source),
            { file: source.file, contentHash: source.contentHash },
          ]),
        ]);
  const lines = canonicalRows(
    [...state.lines, ...state.shadowedLines.values(), ...event.lines],
    LINE_IDENTITY.key,
    retracted,
  );
  const options = canonicalRows(
    [...state.options, ...state.shadowedOptions.values(), ...event.options],
    OPTION_IDENTITY.key,
    retracted,
  );
  const next: OrderState = {
    orderId: state.orderId,
    lines: [...lines.effective.values()],
    options: [...options.effective.values()],
    shadowedLines: lines.shadowed.size === 0 ? EMPTY_LINES : lines.shadowed,
    shadowedOptions: options.shadowed.size === 0 ? EMPTY_OPTIONS : options.shadowed,
    retracted,
  };
  return sameOrderState(next, state) ? state : next;
}

/**
 * The union of a state and an event of the same order. Returns `state` itself (the same object)
 * when the event adds nothing, which is how a duplicate is recognised cheaply.
 *
 * @example
 * const next = mergeOrderEvent(emptyOrderState(event.orderId), event);
 */
export function mergeOrderEvent(state: OrderState, event: OrderEvent): OrderState {
  if (event.orderId !== state.orderId) {
    throw new RangeError(
      `event ${event.eventId} of order ${event.orderId} merged into order ${state.orderId}`,
    );
  }
  // The common case (no retraction anywhere, each identity from one source) is a plain union.
  if (
    (event.retractedSources === undefined || event.retractedSources.length === 0) &&
    state.retracted.size === 0 &&
    state.shadowedLines.size === 0 &&
    state.shadowedOptions.size === 0
  ) {
    const lines = unionInto(state.lines, event.lines, LINE_IDENTITY);
    const options =
      lines === undefined ? undefined : unionInto(state.options, event.options, OPTION_IDENTITY);
    if (lines !== undefined && options !== undefined) {
      if (lines === state.lines && options === state.options) return state;
      return { ...state, lines, options };
    }
  }
  return mergeGeneral(state, event);
}

/**
 * Withdraws every row of `sources` from the state, now and when such rows arrive later.
 *
 * @example
 * const withdrawn = retractSources(state, [{ file: 'exports/day-1.csv', contentHash }]);
 */
export function retractSources(state: OrderState, sources: readonly RetractedSource[]): OrderState {
  return mergeOrderEvent(state, {
    eventId: 'retract',
    orderId: state.orderId,
    lines: [],
    options: [],
    retractedSources: sources,
  });
}

/** The union of two states of the same order. */
export function mergeOrderStates(a: OrderState, b: OrderState): OrderState {
  return mergeOrderEvent(a, stateAsEvent(b));
}

const byKey = <T>([a]: readonly [string, T], [b]: readonly [string, T]): number =>
  a < b ? -1 : a > b ? 1 : 0;

const sortedValues = <T>(map: ReadonlyMap<string, T>): T[] =>
  [...map.entries()].sort(byKey).map(([, value]) => value);

/** Rows of distinct identities, sorted by identity key (as `sortedValues` sorts a Map of them). */
const sortedRows = <T>(rows: readonly T[], identity: RowIdentity<T>): T[] =>
  rows
    .map((row): [string, T] => [identity.key(row), row])
    .sort(byKey)
    .map(([, row]) => row);

function stateAsEvent(state: OrderState): OrderEvent {
  return {
    eventId: 'state',
    orderId: state.orderId,
    lines: [...sortedRows(state.lines, LINE_IDENTITY), ...sortedValues(state.shadowedLines)],
    options: [...sortedRows(state.options, OPTION_IDENTITY), ...sortedValues(state.shadowedOptions)],
    ...(state.retracted.size === 0 ? {} : { retractedSources: sortedValues(state.retracted) }),
  };
}

/** True when two states hold the same rows. */
export function sameOrderState(a: OrderState, b: OrderState): boolean {
  return encodeOrderState(a) === encodeOrderState(b);
}

/**
 * The ledger's text form of a state: the stream record format, effective rows sorted by identity,
 * then shadowed rows, then the retracted sources (written as version 2 when there are any).
 */
export function encodeOrderState(state: OrderState): string {
  return new TextDecoder().decode(encodeOrderEvent(stateAsEvent(state)));
}

/** Reads a state written by `encodeOrderState`; throws `PoisonRecordError` if it is not one. */
export function decodeOrderState(text: string, locator?: string): OrderState {
  const event = decodeOrderEvent(new TextEncoder().encode(text), locator);
  return mergeOrderEvent(emptyOrderState(event.orderId), event);
}

/**
 * The state of an order known from one binary event alone (`BinaryOrderEvent.summary` is set: rows
 * of distinct identities, no retraction): that event's rows, built only when something reads them.
 * The same rows as `mergeOrderEvent(emptyOrderState(orderId), event)`; the ledger stores the
 * event's bytes for it (`storedEventBytes`).
 */
class EventState implements OrderState {
  readonly shadowedLines = EMPTY_LINES;
  readonly shadowedOptions = EMPTY_OPTIONS;
  readonly retracted = NO_RETRACTIONS;
  readonly orderId: string;
  // Private, so that a spread of the state (a merge) does not carry them over. The state keeps
  // only the bytes (no summary, no rows) until its rows are asked for.
  readonly #bytes: Uint8Array;
  #event: OrderEvent | undefined;

  constructor(event: BinaryOrderEvent) {
    this.orderId = event.orderId;
    this.#bytes = event.bytes;
  }

  get lines(): readonly EventLine[] {
    return this.#rows().lines;
  }

  get options(): readonly EventOption[] {
    return this.#rows().options;
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  #rows(): OrderEvent {
    this.#event ??= decodeOrderEvent(this.#bytes);
    return this.#event;
  }
}

/**
 * The state of a new order from its first event when that event alone is the state (it has a
 * summary), else `undefined`.
 *
 * @example
 * const state = stateOfEvent(event) ?? mergeOrderEvent(emptyOrderState(event.orderId), event);
 */
export function stateOfEvent(event: OrderEvent): OrderState | undefined {
  return event instanceof BinaryOrderEvent && event.summary !== null ? new EventState(event) : undefined;
}

/** The binary record an order's state is, when it is one event alone; the ledger stores these bytes. */
export function storedEventBytes(state: OrderState): Uint8Array | undefined {
  return state instanceof EventState ? state.bytes : undefined;
}

/** Reads a state stored as a binary record (`storedEventBytes`); throws `PoisonRecordError` if it is not one. */
export function decodeStoredEventState(bytes: Uint8Array, locator?: string): OrderState {
  const event = decodeOrderEvent(bytes, locator);
  return stateOfEvent(event) ?? mergeOrderEvent(emptyOrderState(event.orderId), event);
}
