/**
 * The chain's export format after validation (CONTRACT.md §1): the typed, normalised records every
 * later stage works with. Money is integer cents, instants are UTC epoch milliseconds.
 */

/** Where a record came from: the file (source path or Drive file id) and its 1-based row after the header. */
export interface RowOrigin {
  readonly file: string;
  readonly row: number;
}

/** One `order_items` row, validated and normalised. */
export interface LineItem {
  readonly appName: string;
  readonly restaurantId: string;
  /** CREATION_TIME_UTC as epoch milliseconds. */
  readonly createdAtMs: number;
  readonly orderId: string;
  /** Empty USER_ID (a guest order) is `null`. */
  readonly userId: string | null;
  readonly printedCardNumber: string | null;
  readonly isLoyalty: boolean;
  readonly currency: string;
  readonly lineItemId: string;
  /** Empty ITEM_CATEGORY is `Uncategorized`. */
  readonly category: string;
  readonly itemName: string;
  /** Unit price in cents, ≥ 0. */
  readonly unitPriceCents: number;
  /** Integer ≥ 1. */
  readonly quantity: number;
}

/** One `order_item_options` row, validated and normalised. */
export interface LineOption {
  readonly orderId: string;
  readonly lineItemId: string;
  readonly groupName: string;
  readonly optionName: string;
  /** Option price in cents; negative = a discount. */
  readonly priceCents: number;
  /** Integer ≥ 1. */
  readonly quantity: number;
}

/** One `date_dim` row. */
export interface CalendarDay {
  /** Local date `YYYY-MM-DD` (the file says DD-MM-YYYY). */
  readonly date: string;
  readonly isHoliday: boolean;
  readonly holidayName: string | null;
}

/** One `locations` row. */
export interface LocationConfig {
  readonly restaurantId: string;
  readonly name: string;
  /** IANA time zone, e.g. `America/Chicago`. */
  readonly timeZone: string;
}

/** The kinds of file the product recognises, by header. */
export const FileKind = {
  OrderItems: 'order_items',
  OrderItemOptions: 'order_item_options',
  DateDim: 'date_dim',
  Locations: 'locations',
} as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];
