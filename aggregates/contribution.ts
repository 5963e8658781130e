/**
 * What one order adds to the aggregates, as a pure function of its state (CONTRACT.md §2). An
 * event's effect is contribution(new state) − contribution(old state), so late lines and options
 * correct every figure they touch by exact signed deltas.
 */
import type { EventLine } from '../shared/schemas/order-event.js';
import type { EventSummary } from '../shared/schemas/order-event-binary.js';
import { compareLineage, type OrderState } from './order-state.js';
import { toLocalTime } from './time.js';

/** An order's figures in one menu category (the order counts once in each category it contains). */
export interface CategoryFigures {
  readonly category: string;
  readonly items: number;
  readonly netCents: number;
}

export interface OrderContribution {
  readonly orderId: string;
  /** RESTAURANT_ID of the earliest line. */
  readonly restaurantId: string;
  /** `null` for a guest order. */
  readonly customerId: string | null;
  /** The earliest CREATION_TIME_UTC of the order's lines. */
  readonly instantMs: number;
  readonly localDate: string;
  /** 0–23, in the location's zone. */
  readonly hour: number;
  /** Any line flagged IS_LOYALTY. */
  readonly isLoyalty: boolean;
  /** Any negative option on a known line. */
  readonly isDiscounted: boolean;
  /** Σ ITEM_QUANTITY. */
  readonly items: number;
  readonly netCents: number;
  /** Net without the negative options. */
  readonly grossCents: number;
  /** −Σ negative options, ≥ 0. */
  readonly discountCents: number;
  /** Distinct categories, in the order of their first line. */
  readonly categories: readonly CategoryFigures[];
}

/** Whether `line` decides the order before `best`: earlier, then first file, then first row. */
const decidesBefore = (line: EventLine, best: EventLine): boolean =>
  line.createdAtMs < best.createdAtMs ||
  (line.createdAtMs === best.createdAtMs && compareLineage(line.lineage, best.lineage) < 0);

/** Up to this many lines, an option's line is found by scanning them; beyond, through a Map. */
const SCAN_LIMIT = 16;

/** The line of a LINEITEM_ID among an order's lines (distinct identities), or `undefined`. */
function lineOf(
  lines: readonly EventLine[],
  byId: ReadonlyMap<string, EventLine> | undefined,
  lineItemId: string,
): EventLine | undefined {
  if (byId !== undefined) return byId.get(lineItemId);
  for (const line of lines) if (line.lineItemId === lineItemId) return line;
  return undefined;
}

/** Category figures being summed; handed out as `CategoryFigures`. */
interface CategorySum {
  readonly category: string;
  items: number;
  netCents: number;
}

/**
 * The order's contribution, or `null` while none of its lines is known (options alone count
 * nothing until their line arrives).
 *
 * @example
 * const before = orderContribution(state);
 * const after = orderContribution(mergeOrderEvent(state, event));
 */
export function orderContribution(state: OrderState): OrderContribution | null {
  if (state.lines.length === 0) return null;
  let first: EventLine | undefined;
  let netCents = 0;
  let discountCents = 0;
  let items = 0;
  let isLoyalty = false;
  const byCategory = new Map<string, CategorySum>();
  const categories: CategorySum[] = [];
  for (const line of state.lines) {
    if (first === undefined || decidesBefore(line, first)) first = line;
    const base = line.unitPriceCents * line.quantity;
    netCents += base;
    items += line.quantity;
    isLoyalty ||= line.isLoyalty;
    const figures = byCategory.get(line.category);
    if (figures === undefined) {
      const sum = { category: line.category, items: line.quantity, netCents: base };
      byCategory.set(line.category, sum);
      categories.push(sum);
    } else {
      figures.items += line.quantity;
      figures.netCents += base;
    }
  }
  // A line's revenue includes its options; an option whose line is unknown counts nothing yet.
  const lines = state.lines;
  const byId =
    lines.length > SCAN_LIMIT && state.options.length > 0
      ? new Map(lines.map((line): [string, EventLine] => [line.lineItemId, line]))
      : undefined;
  for (const option of state.options) {
    const line = lineOf(lines, byId, option.lineItemId);
    if (line === undefined) continue;
    const amount = option.priceCents * option.quantity;
    netCents += amount;
    if (amount < 0) discountCents -= amount;
    byCategory.get(line.category)!.netCents += amount;
  }
  const decider = first!;

  const { localDate, hour } = toLocalTime(decider.createdAtMs, decider.timeZone);
  return {
    orderId: state.orderId,
    restaurantId: decider.restaurantId,
    customerId: decider.userId,
    instantMs: decider.createdAtMs,
    localDate,
    hour,
    isLoyalty,
    isDiscounted: discountCents > 0,
    items,
    netCents,
    grossCents: netCents + discountCents,
    discountCents,
    categories,
  };
}

/**
 * The contribution of an order whose state is one event alone, from the event's summary: equal to
 * `orderContribution` of that state, without building its rows.
 *
 * @example
 * const contribution = summaryContribution(event.orderId, event.summary);
 */
export function summaryContribution(orderId: string, summary: EventSummary): OrderContribution {
  const { localDate, hour } = toLocalTime(summary.instantMs, summary.timeZone);
  return {
    orderId,
    restaurantId: summary.restaurantId,
    customerId: summary.customerId,
    instantMs: summary.instantMs,
    localDate,
    hour,
    isLoyalty: summary.isLoyalty,
    isDiscounted: summary.discountCents > 0,
    items: summary.items,
    netCents: summary.netCents,
    grossCents: summary.netCents + summary.discountCents,
    discountCents: summary.discountCents,
    categories: summary.categories,
  };
}
