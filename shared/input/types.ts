/**
 * What the input parser yields (CONTRACT.md §1): one entry per CSV record, either a validated
 * record, an excluded test-app row or a rejection, plus the per-file summary the ingest report is
 * built from.
 */
import type { Settings } from '../config.js';
import type {
  CalendarDay,
  FileKind,
  LineItem,
  LineOption,
  LocationConfig,
  RowOrigin,
} from '../schemas/input.js';
import type { ReasonCode, Rejection } from '../schemas/reasons.js';

/** The kinds of entry a record becomes. */
export const EntryKind = {
  LineItem: 'line_item',
  Option: 'option',
  CalendarDay: 'calendar_day',
  Location: 'location',
  Excluded: 'excluded',
  Rejected: 'rejected',
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** Why a valid row is kept but flagged in the ingest report (CONTRACT.md §1: outliers are warnings). */
export const OutlierKind = {
  /** ITEM_QUANTITY or OPTION_QUANTITY at or above `outlierQuantity`. */
  Quantity: 'quantity',
  /** ITEM_PRICE or |OPTION_PRICE| at or above `outlierPriceCents`. */
  Price: 'price',
  /** Both of the above. */
  QuantityAndPrice: 'quantity_and_price',
} as const;
export type OutlierKind = (typeof OutlierKind)[keyof typeof OutlierKind];

export interface LineItemEntry {
  readonly kind: typeof EntryKind.LineItem;
  readonly origin: RowOrigin;
  readonly record: LineItem;
  /** Set when the row is an outlier (kept, counted as a warning). */
  readonly outlier: OutlierKind | null;
}

export interface OptionEntry {
  readonly kind: typeof EntryKind.Option;
  readonly origin: RowOrigin;
  readonly record: LineOption;
  readonly outlier: OutlierKind | null;
}

export interface CalendarDayEntry {
  readonly kind: typeof EntryKind.CalendarDay;
  readonly origin: RowOrigin;
  readonly record: CalendarDay;
}

export interface LocationEntry {
  readonly kind: typeof EntryKind.Location;
  readonly origin: RowOrigin;
  readonly record: LocationConfig;
}

/** A test-app row (APP_NAME contains the test-app pattern): not an error, not data. */
export interface ExcludedEntry {
  readonly kind: typeof EntryKind.Excluded;
  readonly origin: RowOrigin;
  readonly reason: 'test_app';
  readonly appName: string;
}

export interface RejectedEntry {
  readonly kind: typeof EntryKind.Rejected;
  readonly rejection: Rejection;
}

/** What one CSV record became. */
export type ParsedEntry =
  | LineItemEntry
  | OptionEntry
  | CalendarDayEntry
  | LocationEntry
  | ExcludedEntry
  | RejectedEntry;

/** Entries in file order; the parser yields one batch per chunk of input for speed. */
export type ParsedBatch = readonly ParsedEntry[];

/** The settings row validation depends on; `validationSettings` derives them from `Settings`. */
export interface ValidationSettings {
  /** The chain's one currency, upper case. */
  readonly currency: string;
  /** APP_NAME containing this (case-insensitive, anywhere) marks a test-app row. */
  readonly testAppPattern: string;
  /** A CREATION_TIME_UTC more than this after the file's arrival is a `future_timestamp`. */
  readonly futureToleranceMs: number;
  /** Quantities at or above this are outliers (kept, warned). @default 100 */
  readonly outlierQuantity: number;
  /** Unit prices (and option prices by magnitude) at or above this, in cents, are outliers. @default 100_000 ($1,000.00) */
  readonly outlierPriceCents: number;
}

/** Outlier thresholds used when the caller does not give its own. */
export const defaultOutlierThresholds = {
  outlierQuantity: 100,
  outlierPriceCents: 100_000,
} as const;

/** Validation settings from the product settings, with optional outlier thresholds. */
export function validationSettings(
  settings: Pick<Settings, 'currency' | 'testAppPattern' | 'futureToleranceMs'>,
  thresholds: Partial<Pick<ValidationSettings, 'outlierQuantity' | 'outlierPriceCents'>> = {},
): ValidationSettings {
  return {
    currency: settings.currency.trim().toUpperCase(),
    testAppPattern: settings.testAppPattern,
    futureToleranceMs: settings.futureToleranceMs,
    ...defaultOutlierThresholds,
    ...thresholds,
  };
}

/** Per-file counts: every record read is one of valid, excluded or rejected. */
export interface FileSummary {
  readonly file: string;
  /** Null when the header matched no known kind (or the file was empty). */
  readonly kind: FileKind | null;
  /** The header as written (trimmed, BOM removed), empty when there was none. */
  readonly columns: readonly string[];
  /** The whole file's rejection (`empty_file`, `unknown_file_kind`, `missing_column`, `bad_encoding`), if any. */
  readonly fileRejection: Rejection | null;
  /** True when the file has a header and no records. */
  readonly headerOnly: boolean;
  /** CSV records after the header (blank lines are not records). */
  readonly rowsRead: number;
  readonly rowsValid: number;
  readonly rowsExcluded: number;
  readonly rowsRejected: number;
  readonly rejectionsByReason: Readonly<Partial<Record<ReasonCode, number>>>;
  /** Valid rows flagged as outliers (warnings). */
  readonly outliers: number;
  /** Empty lines skipped (not records, not numbered). */
  readonly blankLines: number;
}
