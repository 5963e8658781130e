/**
 * An order's state in the ledger: its accepted lines and options by business identity (CONTRACT.md
 * §1). Merging an event is a set union, so it is idempotent, commutative and associative: duplicated
 * and reordered stream records cannot change the state, and the state alone decides the order's
 * contribution to the aggregates.
 */
import {
  decodeOrderEvent,
  type EventLine,
  type EventOption,
  encodeOrderEvent,
  type Lineage,
  type OrderEvent,
} from '../shared/schemas/order-event.js';

export interface OrderState {
  readonly orderId: string;
  /** By LINEITEM_ID (the order is implied). */
  readonly lines: ReadonlyMap<string, EventLine>;
  /** By `optionKey(LINEITEM_ID, OPTION_GROUP_NAME, OPTION_NAME)`. */
  readonly options: ReadonlyMap<string, EventOption>;
}

/** The state of an order nothing is known about yet. */
export function emptyOrderState(orderId: string): OrderState {
  return { orderId, lines: new Map(), options: new Map() };
}

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
 * Which of two rows with one identity the state keeps. The poller guarantees they carry the same
 * values, so only the lineage can differ (a re-sent file): the first accepted wins, and a full
 * comparison keeps the choice a total order, which makes the union commutative.
 */
function firstAccepted<T extends { readonly lineage: Lineage }>(a: T, b: T): T {
  const byLineage = compareLineage(a.lineage, b.lineage);
  if (byLineage !== 0) return byLineage < 0 ? a : b;
  return JSON.stringify(a) <= JSON.stringify(b) ? a : b;
}

function unionInto<T extends { readonly lineage: Lineage }>(
  target: ReadonlyMap<string, T>,
  rows: readonly T[],
  identity: (row: T) => string,
): ReadonlyMap<string, T> {
  let result: Map<string, T> | undefined;
  for (const row of rows) {
    const key = identity(row);
    const current = (result ?? target).get(key);
    const kept = current === undefined ? row : firstAccepted(current, row);
    if (kept === current) continue;
    result ??= target.size === 0 ? new Map() : new Map(target);
    result.set(key, kept);
  }
  return result ?? target;
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
  const lines = unionInto(state.lines, event.lines, lineIdentity);
  const options = unionInto(state.options, event.options, optionKey);
  if (lines === state.lines && options === state.options) return state;
  return { orderId: state.orderId, lines, options };
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
    lines: sortedValues(state.lines),
    options: sortedValues(state.options),
  };
}

/** True when two states hold the same rows. */
export function sameOrderState(a: OrderState, b: OrderState): boolean {
  return encodeOrderState(a) === encodeOrderState(b);
}

/** The ledger's text form of a state: the stream record format, rows sorted by identity. */
export function encodeOrderState(state: OrderState): string {
  return new TextDecoder().decode(encodeOrderEvent(stateAsEvent(state)));
}

/** Reads a state written by `encodeOrderState`; throws `PoisonRecordError` if it is not one. */
export function decodeOrderState(text: string, locator?: string): OrderState {
  const event = decodeOrderEvent(new TextEncoder().encode(text), locator);
  return mergeOrderEvent(emptyOrderState(event.orderId), event);
}
