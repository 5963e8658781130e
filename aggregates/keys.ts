/**
 * Every key and attribute name of the `aggregates`, ledger and state tables, in one place.
 *
 * Access patterns (GetItem and Query only; the dashboard and the processors never Scan. Scans:
 * compaction reads every customer and location-day; rarer operator commands scan too: `retract`
 * for file versions, `reconcile` for file versions and every aggregates item, `rebuild` to copy a
 * table, `status` to count items locally (DescribeTable on AWS), and the poller once to fold an
 * old ledger layout):
 *
 * | item | pk | sk | read by |
 * |---|---|---|---|
 * | customer × month, one part per shard | `C#<USER_ID>` | `M#<YYYY-MM>#<shard code>` | Query pk (a customer's history: the parts of a month add up), Scan by compaction |
 * | location × local date | `L#<RESTAURANT_ID>` | `D#<YYYY-MM-DD>` | Query pk, sk BETWEEN two dates (a week, a month, a range) |
 * | location totals | `LOC` | `<RESTAURANT_ID>` | Query pk `LOC`: every location, ranked in memory |
 * | chain-wide × local date | `ALL` | `D#<YYYY-MM-DD>` | Query pk, sk BETWEEN two dates |
 * | customer profile (written back by compaction) | `C#<USER_ID>` | `P` | GetItem; GSIs `byTier` (`TIER#<tier>`), `bySegment` (`SEG#<segment>`), `atRisk` (`RISK`, sparse), each sorted by CLV, highest first, paged |
 * | order state (ledger table) | `O#<ORDER_ID>` | `S` | consistent BatchGetItem by the processor |
 * | shard checkpoint + status (state table) | `shard#<stream>` | `<shardId>` | GetItem by the processor, Query pk by `tillstream lag` |
 * | poison record (state table) | `poison#<stream>` | `<shardId>#<sequence>` | Query pk |
 *
 * Weeks and months are not stored: each is a Query over its days. Storing them would triple the
 * writes of every batch (each order touches its day, week and month) for figures that a Query of
 * at most 31 small items derives exactly.
 *
 * Attributes are flat numbers so `ADD` works (DynamoDB cannot `ADD` inside a map). Names are short
 * because an item write costs 1 WCU per started KB: a location or category is named by an 8-char
 * code (`shortCode`) whose full text is kept once per item in a label attribute (`L…`, `K…`),
 * which the update's condition also checks, so a code collision fails loudly instead of merging
 * two names.
 *
 * Customers' tiers, segments and at-risk flags are written back by compaction to a profile item per
 * customer, indexed by the three GSIs of shared/resources.ts.
 *
 * A customer-month item is kept in parts, one per shard that wrote to it (`customerPartKey`): a
 * customer's orders are on every shard (records are keyed by order), but a part has one writer,
 * so the flush reads its parts and puts them back in batches instead of one conditional
 * `UpdateItem` per customer. Readers add the parts of a month up (`logicalItemKey`); every
 * customer attribute is a counter, and the location labels of two parts agree (they are codes
 * of the same names).
 */
import { createHash } from 'node:crypto';

/** The key of one item of the aggregates table. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export const KeyPrefix = {
  Customer: 'C#',
  CustomerMonth: 'M#',
  Location: 'L#',
  Day: 'D#',
  LocationTotals: 'LOC',
  Chain: 'ALL',
  Order: 'O#',
} as const;

export const customerMonthKey = (customerId: string, localDate: string): ItemKey => ({
  pk: `${KeyPrefix.Customer}${customerId}`,
  sk: `${KeyPrefix.CustomerMonth}${localDate.slice(0, 7)}`,
});

/**
 * The part of a customer-month item that one shard writes (`shardCode` of its shard id). Only
 * that shard's processor writes it, so the flush may read it and put it back whole.
 */
export const customerPartKey = (monthKey: ItemKey, code: string): ItemKey => ({
  pk: monthKey.pk,
  sk: `${monthKey.sk}#${code}`,
});

const MONTH_SK_LENGTH = KeyPrefix.CustomerMonth.length + 'YYYY-MM'.length;

/** The item a stored key adds to: a customer-month part's month, any other key itself. */
export function logicalItemKey(key: ItemKey): ItemKey {
  if (
    key.sk.length > MONTH_SK_LENGTH &&
    key.sk.startsWith(KeyPrefix.CustomerMonth) &&
    key.pk.startsWith(KeyPrefix.Customer)
  )
    return { pk: key.pk, sk: key.sk.slice(0, MONTH_SK_LENGTH) };
  return key;
}

export const locationDayKey = (restaurantId: string, localDate: string): ItemKey => ({
  pk: `${KeyPrefix.Location}${restaurantId}`,
  sk: `${KeyPrefix.Day}${localDate}`,
});

export const locationTotalsKey = (restaurantId: string): ItemKey => ({
  pk: KeyPrefix.LocationTotals,
  sk: restaurantId,
});

export const chainDayKey = (localDate: string): ItemKey => ({
  pk: KeyPrefix.Chain,
  sk: `${KeyPrefix.Day}${localDate}`,
});

/** A customer's profile: tier, segment and churn figures of the newest snapshot. */
export const customerProfileKey = (customerId: string): ItemKey => ({
  pk: `${KeyPrefix.Customer}${customerId}`,
  sk: 'P',
});

/** The ledger item holding an order's state. */
export const orderStateKey = (orderId: string): ItemKey => ({ pk: `${KeyPrefix.Order}${orderId}`, sk: 'S' });

/** One shard's checkpoint and status item in the state table. */
export const shardStateKey = (streamName: string, shardId: string): ItemKey => ({
  pk: `shard#${streamName}`,
  sk: shardId,
});

/** A reported poison record in the state table. */
export const poisonRecordKey = (streamName: string, shardId: string, sequenceNumber: string): ItemKey => ({
  pk: `poison#${streamName}`,
  sk: `${shardId}#${sequenceNumber}`,
});

/** A map key for an item key (pk and sk cannot contain NUL, DynamoDB strings being UTF-8 text). */
export const itemId = (key: ItemKey): string => `${key.pk}\u0000${key.sk}`;

export const ItemKind = {
  CustomerMonth: 'customer-month',
  LocationDay: 'location-day',
  LocationTotals: 'location-totals',
  ChainDay: 'chain-day',
  Other: 'other',
} as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

/** What an aggregates item is, from its key. */
export function itemKind(key: ItemKey): ItemKind {
  if (key.pk.startsWith(KeyPrefix.Customer) && key.sk.startsWith(KeyPrefix.CustomerMonth))
    return ItemKind.CustomerMonth;
  if (key.pk.startsWith(KeyPrefix.Location) && key.sk.startsWith(KeyPrefix.Day)) return ItemKind.LocationDay;
  if (key.pk === KeyPrefix.LocationTotals) return ItemKind.LocationTotals;
  if (key.pk === KeyPrefix.Chain && key.sk.startsWith(KeyPrefix.Day)) return ItemKind.ChainDay;
  return ItemKind.Other;
}

const SHORT_CODE_LENGTH = 8;

/**
 * A copy of `text` that shares no memory with the string it came from. The record decoder returns
 * slices of the record's text, and V8 keeps a slice's whole parent alive: a name kept in a
 * long-lived cache (a customer id among 100,000) must not hold a kilobyte of record with it.
 * Concatenating flattens into a new string; slicing that copy refers to the copy only.
 */
export const ownedString = (text: string): string => ` ${text}`.slice(1);

const shortCodes = new Map<string, string>();

/** A stable 8-character `[0-9a-z]` code of a name (40 bits of its SHA-256). */
export function shortCode(name: string): string {
  let code = shortCodes.get(name);
  if (code === undefined) {
    const digest = createHash('sha256').update(name, 'utf8').digest();
    code = digest.readUIntBE(0, 5).toString(36).padStart(SHORT_CODE_LENGTH, '0');
    // Locations and categories are few; the bound only protects against a pathological input.
    if (shortCodes.size > 100_000) shortCodes.clear();
    shortCodes.set(ownedString(name), code);
  }
  return code;
}

/**
 * Attribute names. Day items (location × date, chain × date) and location totals share the total
 * figures; day items add the category and hour breakdowns; customer-month items hold per-day,
 * per-location entries.
 */
export const Attr = {
  orders: 'o',
  items: 'i',
  netCents: 'n',
  grossCents: 'g',
  discountCents: 'd',
  discountedOrders: 'xo',
  discountedItems: 'xi',
  discountedNetCents: 'xn',
  discountedGrossCents: 'xg',
  guestOrders: 'go',
  guestNetCents: 'gn',
  categoryOrders: (code: string) => `c${code}o`,
  categoryItems: (code: string) => `c${code}i`,
  categoryNetCents: (code: string) => `c${code}n`,
  /** Label: the category whose code is `code`. */
  categoryLabel: (code: string) => `K${code}`,
  hourOrders: (hour: string) => `h${hour}o`,
  hourItems: (hour: string) => `h${hour}i`,
  hourNetCents: (hour: string) => `h${hour}n`,
  /** Customer-month entries: `day` is the 2-digit day of month, `code` the location's code. */
  customerOrders: (day: string, code: string) => `o${day}${code}`,
  customerNetCents: (day: string, code: string) => `n${day}${code}`,
  customerLoyaltyOrders: (day: string, code: string) => `y${day}${code}`,
  /** Label: the location whose code is `code`. */
  locationLabel: (code: string) => `L${code}`,
  /** High-water mark of one shard's sequence numbers applied to the item. */
  highWaterMark: (shardCode: string) => `w${shardCode}`,
} as const;

export const CATEGORY_ATTR = /^c([0-9a-z]{8})([oin])$/;
export const HOUR_ATTR = /^h(\d\d)([oin])$/;
export const CUSTOMER_ATTR = /^([ony])(\d\d)([0-9a-z]{8})$/;
export const HIGH_WATER_MARK_ATTR = /^w/;

/**
 * The short code of a shard in high-water-mark names: the number of a `shardId-000000000007` id
 * (`7`), else the id's short code. Unique within one stream.
 */
export function shardCode(shardId: string): string {
  const match = /^shardId-(\d+)$/.exec(shardId);
  return match ? String(Number(match[1])) : shortCode(shardId);
}

/** Width of a stored sequence number: base-36 digits, enough for any 65-digit decimal number. */
const SEQUENCE_WIDTH = 42;
const MAX_SEQUENCE = 36n ** BigInt(SEQUENCE_WIDTH);

/**
 * A Kinesis sequence number as a fixed-width base-36 string: DynamoDB compares strings byte by
 * byte, and `0-9a-z` sort in digit order, so the stored forms compare like the numbers (BigInt).
 */
export function sequenceSortKey(sequenceNumber: string | bigint): string {
  const value = typeof sequenceNumber === 'bigint' ? sequenceNumber : BigInt(sequenceNumber);
  if (value < 0n || value >= MAX_SEQUENCE) {
    throw new RangeError(`sequence number ${sequenceNumber} does not fit ${SEQUENCE_WIDTH} base-36 digits`);
  }
  return value.toString(36).padStart(SEQUENCE_WIDTH, '0');
}

/** The number a `sequenceSortKey` encodes. */
export function sequenceFromSortKey(sortKey: string): bigint {
  let value = 0n;
  for (const digit of sortKey) value = value * 36n + BigInt(Number.parseInt(digit, 36));
  return value;
}
