/**
 * Row validation (CONTRACT.md §1 "Details"): one CSV record of a recognised file becomes a
 * normalised record, an excluded test-app row or a rejection naming file, row, column and raw text.
 *
 * Order of checks, one reason per row: the field count (`malformed_row`), then undecodable bytes
 * (`bad_encoding`), then the test-app exclusion (a test row is never reported as an error, however
 * broken), then the length of the fields that are streamed or stored (`field_too_long`), then each
 * column in the contract's order; the first failure is the row's reason.
 */
import { isValidTimeZone } from '../../aggregates/time.js';
import { FileKind, type RowOrigin } from '../schemas/input.js';
import { ReasonCode } from '../schemas/reasons.js';
import { joinCsvRecord } from './csv.js';
import {
  MAX_PRICE_CENTS,
  parseBoolean,
  parseCents,
  parseDayMonthYear,
  parseInstant,
  parseQuantity,
  trimBlank,
} from './fields.js';
import type { ColumnLayout } from './header.js';
import {
  EntryKind,
  type OutlierKind,
  type ParsedEntry,
  type RejectedEntry,
  type ValidationSettings,
} from './types.js';

/** What validation needs besides the row: the settings and when the row's file arrived. */
export interface ValidationContext {
  readonly settings: ValidationSettings;
  /** The file's arrival instant (epoch ms): rows more than `futureToleranceMs` after it are `future_timestamp`. */
  readonly arrivedAtMs: number;
}

/**
 * Validates rows of one file layout; built once per file, called once per record. The parser passes
 * `checkEncoding = false` for rows of a chunk it knows decoded cleanly (the check scans every field).
 */
export type RowValidator = (
  fields: readonly string[],
  origin: RowOrigin,
  checkEncoding?: boolean,
) => ParsedEntry;

type KindValidator = (fields: readonly string[], origin: RowOrigin) => ParsedEntry;

/** Decoded text of invalid UTF-8 (the decoder's replacement character). */
const REPLACEMENT_CHARACTER = '\uFFFD';
const UNCATEGORIZED = 'Uncategorized';

/**
 * Longest id (RESTAURANT_ID, ORDER_ID, USER_ID, LINEITEM_ID), in UTF-16 code units: ids are parts
 * of DynamoDB keys, and a sort key holds at most 1,024 bytes (a code unit is at most 3 UTF-8 bytes).
 */
export const MAX_ID_LENGTH = 256;
/**
 * Longest streamed or stored name (category, option group and name, location and holiday names):
 * one row must never push an order event past Kinesis's 1 MiB record or an item past DynamoDB's
 * 400 KB, which would stop every later poll at the same file.
 */
export const MAX_NAME_LENGTH = 1_000;

/** A column whose value has a length bound. */
interface BoundedColumn {
  readonly at: number;
  readonly label: string;
  readonly max: number;
}

/** A `field_too_long` rejection for the first bounded column over its bound, or `null`. */
function tooLong(
  origin: RowOrigin,
  fields: readonly string[],
  bounded: readonly BoundedColumn[],
): RejectedEntry | null {
  for (const { at, label, max } of bounded) {
    const length = at >= 0 ? fields[at]!.length : 0;
    if (length > max) {
      return rejected(
        origin,
        fields,
        label,
        ReasonCode.FieldTooLong,
        `${label} is ${length} characters long, more than ${max}`,
      );
    }
  }
  return null;
}

function rejected(
  origin: RowOrigin,
  fields: readonly string[],
  column: string | null,
  reason: ReasonCode,
  message: string,
): RejectedEntry {
  return {
    kind: EntryKind.Rejected,
    rejection: { file: origin.file, row: origin.row, column, reason, message, raw: joinCsvRecord(fields) },
  };
}

function isBlank(value: string): boolean {
  return value.length === 0 || trimBlank(value).length === 0;
}

function outlierOf(quantity: number, priceCents: number, settings: ValidationSettings): OutlierKind | null {
  const byQuantity = quantity >= settings.outlierQuantity;
  const byPrice = Math.abs(priceCents) >= settings.outlierPriceCents;
  if (byQuantity && byPrice) return 'quantity_and_price';
  if (byQuantity) return 'quantity';
  if (byPrice) return 'price';
  return null;
}

/** A test-app matcher with a cache: a file holds a handful of distinct APP_NAMEs. */
function testAppMatcher(pattern: string): (appName: string) => boolean {
  const needle = pattern.toUpperCase();
  const seen = new Map<string, boolean>();
  return (appName) => {
    let isTest = seen.get(appName);
    if (isTest === undefined) {
      isTest = needle.length > 0 && appName.toUpperCase().includes(needle);
      if (seen.size < 10_000) seen.set(appName, isTest);
    }
    return isTest;
  };
}

/**
 * The validator for a file's layout. The returned function is pure apart from an internal cache of
 * test-app decisions.
 *
 * @example
 * const validate = rowValidator(layout, { settings, arrivedAtMs: Date.parse('2023-08-15T00:00:00Z') });
 * validate(fields, { file: 'orders.csv', row: 1 }); // → { kind: 'line_item', record: { unitPriceCents: 1999, … } }
 */
export function rowValidator(layout: ColumnLayout, context: ValidationContext): RowValidator {
  const validate = kindValidator(layout, context);
  const fieldCount = layout.columns.length;
  const columns = layout.columns;
  return (fields, origin, checkEncoding = true) => {
    if (fields.length !== fieldCount) {
      return rejected(
        origin,
        fields,
        null,
        ReasonCode.MalformedRow,
        `row ${origin.row} has ${fields.length} fields, the header has ${fieldCount}`,
      );
    }
    if (checkEncoding) {
      const encodingColumn = badEncodingColumn(fields, columns);
      if (encodingColumn !== null) return badEncodingRejection(fields, origin, encodingColumn);
    }
    return validate(fields, origin);
  };
}

/**
 * Validates one record of a file with this layout (for `requeue`: a quarantined row's raw text,
 * split with `splitCsvRecord`, checked again after a fix).
 */
export function validateRow(
  layout: ColumnLayout,
  fields: readonly string[],
  origin: RowOrigin,
  context: ValidationContext,
): ParsedEntry {
  return rowValidator(layout, context)(fields, origin);
}

/** The column (as the header spells it) of the first field holding undecodable bytes, if any. */
export function badEncodingColumn(fields: readonly string[], columns: readonly string[]): string | null {
  for (let position = 0; position < fields.length; position++) {
    if (fields[position]!.includes(REPLACEMENT_CHARACTER)) return columns[position] ?? null;
  }
  return null;
}

/** A `bad_encoding` rejection of a row whose bytes were not UTF-8. */
export function badEncodingRejection(
  fields: readonly string[],
  origin: RowOrigin,
  column: string | null,
): RejectedEntry {
  return rejected(
    origin,
    fields,
    column,
    ReasonCode.BadEncoding,
    `row ${origin.row} is not valid UTF-8 (column ${column})`,
  );
}

function kindValidator(layout: ColumnLayout, context: ValidationContext): KindValidator {
  switch (layout.kind) {
    case FileKind.OrderItems:
      return lineItemValidator(layout, context);
    case FileKind.OrderItemOptions:
      return optionValidator(layout, context);
    case FileKind.DateDim:
      return calendarValidator(layout);
    case FileKind.Locations:
      return locationValidator(layout);
  }
}

/** Position and header spelling of a column the layout guarantees. */
function column(layout: ColumnLayout, name: string): { readonly at: number; readonly label: string } {
  const at = layout.index[name] ?? -1;
  return { at, label: at >= 0 ? (layout.columns[at] ?? name) : name };
}

function lineItemValidator(layout: ColumnLayout, context: ValidationContext): KindValidator {
  const { settings, arrivedAtMs } = context;
  const latestAcceptedMs = arrivedAtMs + settings.futureToleranceMs;
  const currency = settings.currency.toUpperCase();
  const isTestApp = testAppMatcher(settings.testAppPattern);
  const app = column(layout, 'APP_NAME');
  const restaurant = column(layout, 'RESTAURANT_ID');
  const created = column(layout, 'CREATION_TIME_UTC');
  const order = column(layout, 'ORDER_ID');
  const user = column(layout, 'USER_ID');
  const card = column(layout, 'PRINTED_CARD_NUMBER');
  const loyalty = column(layout, 'IS_LOYALTY');
  const currencyColumn = column(layout, 'CURRENCY');
  const lineItem = column(layout, 'LINEITEM_ID');
  const category = column(layout, 'ITEM_CATEGORY');
  const itemName = column(layout, 'ITEM_NAME');
  const price = column(layout, 'ITEM_PRICE');
  const quantityColumn = column(layout, 'ITEM_QUANTITY');
  const bounded: BoundedColumn[] = [
    { ...restaurant, max: MAX_ID_LENGTH },
    { ...order, max: MAX_ID_LENGTH },
    { ...user, max: MAX_ID_LENGTH },
    { ...lineItem, max: MAX_ID_LENGTH },
    { ...category, max: MAX_NAME_LENGTH },
  ];

  return (fields, origin) => {
    const appName = fields[app.at]!;
    if (isTestApp(appName)) return { kind: EntryKind.Excluded, origin, reason: 'test_app', appName };
    const overLong = tooLong(origin, fields, bounded);
    if (overLong !== null) return overLong;

    const restaurantId = fields[restaurant.at]!;
    if (restaurantId === '') return missing(origin, fields, restaurant.label);
    const createdText = fields[created.at]!;
    if (isBlank(createdText)) return missing(origin, fields, created.label);
    const createdAtMs = parseInstant(createdText);
    if (Number.isNaN(createdAtMs)) {
      return rejected(
        origin,
        fields,
        created.label,
        ReasonCode.BadTimestamp,
        `${created.label} ${JSON.stringify(createdText)} is not an ISO-8601 date-time (date and time required)`,
      );
    }
    if (createdAtMs > latestAcceptedMs) {
      return rejected(
        origin,
        fields,
        created.label,
        ReasonCode.FutureTimestamp,
        `${created.label} ${JSON.stringify(createdText)} is more than ${settings.futureToleranceMs} ms after the file arrived (${new Date(arrivedAtMs).toISOString()})`,
      );
    }
    const orderId = fields[order.at]!;
    if (orderId === '') return missing(origin, fields, order.label);
    const userText = fields[user.at]!;
    const cardText = fields[card.at]!;
    const loyaltyText = fields[loyalty.at]!;
    const isLoyalty = parseBoolean(loyaltyText);
    if (isLoyalty === null) {
      return rejected(
        origin,
        fields,
        loyalty.label,
        ReasonCode.BadBoolean,
        `${loyalty.label} ${JSON.stringify(loyaltyText)} is not TRUE/FALSE/1/0`,
      );
    }
    const currencyText = fields[currencyColumn.at]!;
    if (isBlank(currencyText)) return missing(origin, fields, currencyColumn.label);
    const rowCurrency = currencyText === currency ? currency : trimBlank(currencyText).toUpperCase();
    if (rowCurrency !== currency) {
      return rejected(
        origin,
        fields,
        currencyColumn.label,
        ReasonCode.WrongCurrency,
        `${currencyColumn.label} ${JSON.stringify(currencyText)} is not the chain's currency ${currency}`,
      );
    }
    const lineItemId = fields[lineItem.at]!;
    if (lineItemId === '') return missing(origin, fields, lineItem.label);
    const categoryText = fields[category.at]!;
    const priceText = fields[price.at]!;
    if (isBlank(priceText)) return missing(origin, fields, price.label);
    const unitPriceCents = parseCents(priceText);
    if (Number.isNaN(unitPriceCents)) return badNumber(origin, fields, price.label, priceText);
    if (unitPriceCents < 0) {
      return rejected(
        origin,
        fields,
        price.label,
        ReasonCode.NegativePrice,
        `${price.label} ${JSON.stringify(priceText)} is negative (a unit price is ≥ 0)`,
      );
    }
    const quantityText = fields[quantityColumn.at]!;
    if (isBlank(quantityText)) return missing(origin, fields, quantityColumn.label);
    const quantity = parseQuantity(quantityText);
    if (Number.isNaN(quantity)) return badQuantity(origin, fields, quantityColumn.label, quantityText);

    return {
      kind: EntryKind.LineItem,
      origin,
      record: {
        appName,
        restaurantId,
        createdAtMs,
        orderId,
        userId: isBlank(userText) ? null : userText,
        printedCardNumber: isBlank(cardText) ? null : cardText,
        isLoyalty,
        currency,
        lineItemId,
        category: isBlank(categoryText) ? UNCATEGORIZED : categoryText,
        itemName: fields[itemName.at]!,
        unitPriceCents,
        quantity,
      },
      outlier: outlierOf(quantity, unitPriceCents, settings),
    };
  };
}

function optionValidator(layout: ColumnLayout, context: ValidationContext): KindValidator {
  const { settings } = context;
  const order = column(layout, 'ORDER_ID');
  const lineItem = column(layout, 'LINEITEM_ID');
  const group = column(layout, 'OPTION_GROUP_NAME');
  const name = column(layout, 'OPTION_NAME');
  const price = column(layout, 'OPTION_PRICE');
  const quantityColumn = column(layout, 'OPTION_QUANTITY');
  const bounded: BoundedColumn[] = [
    { ...order, max: MAX_ID_LENGTH },
    { ...lineItem, max: MAX_ID_LENGTH },
    { ...group, max: MAX_NAME_LENGTH },
    { ...name, max: MAX_NAME_LENGTH },
  ];

  return (fields, origin) => {
    const overLong = tooLong(origin, fields, bounded);
    if (overLong !== null) return overLong;
    const orderId = fields[order.at]!;
    if (orderId === '') return missing(origin, fields, order.label);
    const lineItemId = fields[lineItem.at]!;
    if (lineItemId === '') return missing(origin, fields, lineItem.label);
    const priceText = fields[price.at]!;
    if (isBlank(priceText)) return missing(origin, fields, price.label);
    const priceCents = parseCents(priceText);
    if (Number.isNaN(priceCents)) return badNumber(origin, fields, price.label, priceText);
    const quantityText = fields[quantityColumn.at]!;
    if (isBlank(quantityText)) return missing(origin, fields, quantityColumn.label);
    const quantity = parseQuantity(quantityText);
    if (Number.isNaN(quantity)) return badQuantity(origin, fields, quantityColumn.label, quantityText);
    return {
      kind: EntryKind.Option,
      origin,
      record: {
        orderId,
        lineItemId,
        groupName: fields[group.at]!,
        optionName: fields[name.at]!,
        priceCents,
        quantity,
      },
      outlier: outlierOf(quantity, priceCents, settings),
    };
  };
}

function calendarValidator(layout: ColumnLayout): KindValidator {
  const dateKey = column(layout, 'DATE_KEY');
  const holiday = column(layout, 'IS_HOLIDAY');
  const holidayName = column(layout, 'HOLIDAY_NAME');
  const bounded: BoundedColumn[] = [{ ...holidayName, max: MAX_NAME_LENGTH }];
  return (fields, origin) => {
    const overLong = tooLong(origin, fields, bounded);
    if (overLong !== null) return overLong;
    const keyText = fields[dateKey.at]!;
    if (isBlank(keyText)) return missing(origin, fields, dateKey.label);
    const date = parseDayMonthYear(keyText);
    if (date === null) {
      return rejected(
        origin,
        fields,
        dateKey.label,
        ReasonCode.BadDate,
        `${dateKey.label} ${JSON.stringify(keyText)} is not a DD-MM-YYYY date`,
      );
    }
    const holidayText = fields[holiday.at]!;
    const isHoliday = parseBoolean(holidayText);
    if (isHoliday === null) {
      return rejected(
        origin,
        fields,
        holiday.label,
        ReasonCode.BadBoolean,
        `${holiday.label} ${JSON.stringify(holidayText)} is not TRUE/FALSE/1/0`,
      );
    }
    const nameText = holidayName.at >= 0 ? fields[holidayName.at]! : '';
    return {
      kind: EntryKind.CalendarDay,
      origin,
      record: { date, isHoliday, holidayName: isBlank(nameText) ? null : trimBlank(nameText) },
    };
  };
}

function locationValidator(layout: ColumnLayout): KindValidator {
  const restaurant = column(layout, 'RESTAURANT_ID');
  const name = column(layout, 'NAME');
  const zone = column(layout, 'TIMEZONE');
  const bounded: BoundedColumn[] = [
    { ...restaurant, max: MAX_ID_LENGTH },
    { ...name, max: MAX_NAME_LENGTH },
  ];
  return (fields, origin) => {
    const overLong = tooLong(origin, fields, bounded);
    if (overLong !== null) return overLong;
    const restaurantId = fields[restaurant.at]!;
    if (restaurantId === '') return missing(origin, fields, restaurant.label);
    const zoneText = fields[zone.at]!;
    if (isBlank(zoneText)) return missing(origin, fields, zone.label);
    const timeZone = trimBlank(zoneText);
    if (!isValidTimeZone(timeZone)) {
      return rejected(
        origin,
        fields,
        zone.label,
        ReasonCode.UnknownTimeZone,
        `${zone.label} ${JSON.stringify(zoneText)} is not an IANA time zone; the default zone applies`,
      );
    }
    return { kind: EntryKind.Location, origin, record: { restaurantId, name: fields[name.at]!, timeZone } };
  };
}

function missing(origin: RowOrigin, fields: readonly string[], label: string): RejectedEntry {
  return rejected(origin, fields, label, ReasonCode.MissingField, `${label} is empty`);
}

/** `MAX_PRICE_CENTS` as written in a file: 9999999.99. */
const MAX_AMOUNT_TEXT = `${Math.floor(MAX_PRICE_CENTS / 100)}.${String(MAX_PRICE_CENTS % 100).padStart(2, '0')}`;

function badNumber(origin: RowOrigin, fields: readonly string[], label: string, text: string): RejectedEntry {
  // A well-formed amount is refused only for its size (cents must stay exact in sums).
  const tooLarge = /^-?\d+(\.\d{1,2})?$/.test(trimBlank(text));
  return rejected(
    origin,
    fields,
    label,
    ReasonCode.BadNumber,
    tooLarge
      ? `${label} ${JSON.stringify(text)} is larger than the largest accepted amount, ${MAX_AMOUNT_TEXT}`
      : `${label} ${JSON.stringify(text)} is not a decimal amount with at most 2 decimals (e.g. 19.99)`,
  );
}

function badQuantity(
  origin: RowOrigin,
  fields: readonly string[],
  label: string,
  text: string,
): RejectedEntry {
  return rejected(
    origin,
    fields,
    label,
    ReasonCode.BadQuantity,
    `${label} ${JSON.stringify(text)} is not an integer from 1 to 1000000`,
  );
}
