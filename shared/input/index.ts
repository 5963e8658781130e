/**
 * The input model (CONTRACT.md §1): the chain's export files parsed as they stream, recognised by
 * header, validated and normalised into the records of `shared/schemas/input.ts`, with every
 * rejection naming file, row, column and raw text.
 */
export { CsvRecordError, joinCsvRecord, splitCsvRecord } from './csv.js';
export {
  daysFromCivil,
  MAX_PRICE_CENTS,
  MAX_QUANTITY,
  parseBoolean,
  parseCents,
  parseDayMonthYear,
  parseInstant,
  parseQuantity,
} from './fields.js';
export { type ColumnLayout, type HeaderMatch, matchHeader, RequiredColumns } from './header.js';
export { ExportParse, type ExportSource, type ParseOptions, parseExport } from './parse.js';
export {
  type CalendarDayEntry,
  defaultOutlierThresholds,
  EntryKind,
  type ExcludedEntry,
  type FileSummary,
  type LineItemEntry,
  type LocationEntry,
  type OptionEntry,
  OutlierKind,
  type ParsedBatch,
  type ParsedEntry,
  type RejectedEntry,
  type ValidationSettings,
  validationSettings,
} from './types.js';
export { type RowValidator, rowValidator, type ValidationContext, validateRow } from './validate.js';
