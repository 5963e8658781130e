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

export interface OrderState {
  readonly orderId: string;
  /** The effective row of each line identity, by LINEITEM_ID (the order is implied). */
  readonly lines: ReadonlyMap<string, EventLine>;
  /** The effective row of each option identity, by `optionKey(LINEITEM_ID, OPTION_GROUP_NAME, OPTION_NAME)`. */
  readonly options: ReadonlyMap<string, EventOption>;
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

const EMPTY_LINES: ReadonlyMap<string, EventLine> = new Map();
const EMPTY_OPTIONS: ReadonlyMap<string, EventOption> = new Map();
const NO_RETRACTIONS: ReadonlyMap<string, RetractedSource> = new Map();

/** The state of an order nothing is known about yet. */
export function emptyOrderState(orderId: string): OrderState {
  return {
    orderId,
    lines: EMPTY_LINES,
    options: EMPTY_OPTIONS,
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

/**
 * The union of `rows` into `target` when every row is new or meets a row of its own source;
 * `undefined` when a row meets another source's row of its identity (the general merge decides).
 * Returns `target` itself when nothing changes.
 */
function unionInto<T extends { readonly lineage: Lineage }>(
  target: ReadonlyMap<string, T>,
  rows: readonly T[],
  identity: (row: T) => string,
): ReadonlyMap<string, T> | undefined {
  let result: Map<string, T> | undefined;
  for (const row of rows) {
    const key = identity(row);
    const current = (result ?? target).get(key);
    if (current !== undefined && !sameSource(current.lineage, row.lineage)) return undefined;
    const kept = current === undefined ? row : firstAccepted(current, row);
    if (kept === current) continue;
    result ??= target.size === 0 ? new Map() : new Map(target);
    result.set(key, kept);
  }
  return result ?? target;
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
    [...state.lines.values(), ...state.shadowedLines.values(), ...event.lines],
    lineIdentity,
    retracted,
  );
  const options = canonicalRows(
    [...state.options.values(), ...state.shadowedOptions.values(), ...event.options],
    optionKey,
    retracted,
  );
  const next: OrderState = {
    orderId: state.orderId,
    lines: lines.effective,
    options: options.effective,
    shadowedLines: lines.shadowed.size === 0 ? EMPTY_LINES : lines.shadowed,
    shadowedOptions: options.shadowed.size === 0 ? EMPTY_OPTIONS : options.shadowed,
    retracted,
  };
  return sameOrderState(next, state) ? state : next;
}

const lineIdentity = (line: EventLine): string => line.lineItemId;

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
    const lines = unionInto(state.lines, event.lines, lineIdentity);
    const options = lines === undefined ? undefined : unionInto(state.options, event.options, optionKey);
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

function stateAsEvent(state: OrderState): OrderEvent {
  const sortedValues = <T>(map: ReadonlyMap<string, T>): T[] =>
    [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
  return {
    eventId: 'state',
    orderId: state.orderId,
    lines: [...sortedValues(state.lines), ...sortedValues(state.shadowedLines)],
    options: [...sortedValues(state.options), ...sortedValues(state.shadowedOptions)],
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
