/**
 * Why a row (or a whole file) did not become an accepted record (CONTRACT.md §1). The codes are
 * stable: they appear in quarantine files, ingest reports and dashboards.
 */
export const ReasonCode = {
  MissingField: 'missing_field',
  BadTimestamp: 'bad_timestamp',
  BadNumber: 'bad_number',
  NegativePrice: 'negative_price',
  BadQuantity: 'bad_quantity',
  WrongCurrency: 'wrong_currency',
  MalformedRow: 'malformed_row',
  FutureTimestamp: 'future_timestamp',
  OrphanOption: 'orphan_option',
  ConflictingDuplicate: 'conflicting_duplicate',
  FileTooLarge: 'file_too_large',
  BadBoolean: 'bad_boolean',
  BadDate: 'bad_date',
  BadEncoding: 'bad_encoding',
  MissingColumn: 'missing_column',
  UnknownFileKind: 'unknown_file_kind',
  EmptyFile: 'empty_file',
  UnknownTimeZone: 'unknown_time_zone',
  /** A field longer than the product can stream or store (an id over 256 characters, a name over 1,000). */
  FieldTooLong: 'field_too_long',
} as const;
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

/** A rejected row: enough to find it in the original file and to re-validate it after a fix. */
export interface Rejection {
  readonly file: string;
  /** 1-based row after the header; 0 for a whole-file rejection. */
  readonly row: number;
  /** The column at fault (the header's own spelling), when one column is. */
  readonly column: string | null;
  readonly reason: ReasonCode;
  /** Human-readable detail, naming the value at fault. */
  readonly message: string;
  /** The row's raw text as read (fields re-joined as CSV), for the quarantine file. */
  readonly raw: string;
}
