/**
 * What the nightly marts are computed from: the aggregate items as the compaction reads them,
 * independent of how they are laid out in DynamoDB. Every mart is a pure function of these
 * histories, the calendar and `as_of` (CONTRACT.md §2), so a past `as_of` leaves later days out
 * exactly.
 */

/** One customer's orders on one local date at one location. */
export interface CustomerDay {
  /** Local date of the orders, `YYYY-MM-DD`, in their location's zone. */
  readonly date: string;
  readonly locationId: string;
  readonly orders: number;
  readonly netCents: number;
  /** Orders of that day flagged IS_LOYALTY (membership starts with the first one). */
  readonly loyaltyOrders: number;
}

/**
 * Totals of a customer's days before the horizon (the newest processed order's date minus the
 * retention, 400 days by default). Snapshots are exact for `as_of` on or after `throughDate`.
 */
export interface CustomerRollup {
  /** The last local date folded into this rollup. */
  readonly throughDate: string;
  readonly firstDate: string;
  readonly lastDate: string;
  readonly orders: number;
  readonly netCents: number;
  readonly loyaltyOrders: number;
  /** Orders per location, for distinct and repeat customers per location. */
  readonly ordersByLocation: Readonly<Record<string, number>>;
}

export interface CustomerHistory {
  readonly customerId: string;
  readonly rollup: CustomerRollup | null;
  /** Days after the rollup, in any order. */
  readonly days: readonly CustomerDay[];
}

/** Revenue, orders and items of one breakdown value (a category, an hour). */
export interface BreakdownFigures {
  /** Orders that contain it (an order counts once in each category it contains). */
  readonly orders: number;
  readonly items: number;
  readonly netCents: number;
}

/** One location's orders on one local date, guests included. */
export interface LocationDay {
  readonly locationId: string;
  readonly date: string;
  readonly orders: number;
  readonly items: number;
  readonly netCents: number;
  /** Net plus discounts: revenue without the negative options. */
  readonly grossCents: number;
  /** −Σ negative options, ≥ 0. */
  readonly discountCents: number;
  /** Orders with any negative option, and their figures. */
  readonly discountedOrders: number;
  readonly discountedItems: number;
  readonly discountedNetCents: number;
  readonly discountedGrossCents: number;
  /** Orders without a customer (empty USER_ID), and their net revenue. */
  readonly guestOrders: number;
  readonly guestNetCents: number;
  /** By menu category (empty category is `Uncategorized`). */
  readonly byCategory: Readonly<Record<string, BreakdownFigures>>;
  /** By local hour of the order's instant, keys `00`–`23`. */
  readonly byHour: Readonly<Record<string, BreakdownFigures>>;
}

/** The calendar (date_dim): holidays by local date. */
export interface Holiday {
  readonly date: string;
  readonly name: string | null;
}
