/**
 * What one order adds to the aggregates, as a pure function of its state (CONTRACT.md §2). An
 * event's effect is contribution(new state) − contribution(old state), so late lines and options
 * correct every figure they touch by exact signed deltas.
 */
import type { EventLine } from '../shared/schemas/order-event.js';
import { compareLineage, type OrderState } from './order-state.js';
import { toLocalTime } from './time.js';

/** An order's figures in one menu category (the order counts once in each category it contains). */
export interface CategoryFigures {
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
  readonly byCategory: ReadonlyMap<string, CategoryFigures>;
}

/** The line that decides an order's instant, location and customer: earliest, then first file, then first row. */
function decidingLine(lines: Iterable<EventLine>): EventLine | undefined {
  let best: EventLine | undefined;
  for (const line of lines) {
    if (
      best === undefined ||
      line.createdAtMs < best.createdAtMs ||
      (line.createdAtMs === best.createdAtMs && compareLineage(line.lineage, best.lineage) < 0)
    ) {
      best = line;
    }
  }
  return best;
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
  const first = decidingLine(state.lines.values());
  if (first === undefined) return null;

  const lineNet = new Map<string, number>();
  let netCents = 0;
  let discountCents = 0;
  let items = 0;
  let isLoyalty = false;
  for (const line of state.lines.values()) {
    const base = line.unitPriceCents * line.quantity;
    lineNet.set(line.lineItemId, base);
    netCents += base;
    items += line.quantity;
    isLoyalty ||= line.isLoyalty;
  }
  for (const option of state.options.values()) {
    const current = lineNet.get(option.lineItemId);
    if (current === undefined) continue;
    const amount = option.priceCents * option.quantity;
    lineNet.set(option.lineItemId, current + amount);
    netCents += amount;
    if (amount < 0) discountCents -= amount;
  }

  const byCategory = new Map<string, CategoryFigures>();
  for (const line of state.lines.values()) {
    const figures = byCategory.get(line.category) ?? { items: 0, netCents: 0 };
    byCategory.set(line.category, {
      items: figures.items + line.quantity,
      netCents: figures.netCents + (lineNet.get(line.lineItemId) ?? 0),
    });
  }

  const { localDate, hour } = toLocalTime(first.createdAtMs, first.timeZone);
  return {
    orderId: state.orderId,
    restaurantId: first.restaurantId,
    customerId: first.userId,
    instantMs: first.createdAtMs,
    localDate,
    hour,
    isLoyalty,
    isDiscounted: discountCents > 0,
    items,
    netCents,
    grossCents: netCents + discountCents,
    discountCents,
    byCategory,
  };
}
