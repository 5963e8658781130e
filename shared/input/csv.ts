/** RFC 4180 helpers for single records: the raw text kept with a rejection, and reading it back. */
import Papa from 'papaparse';

const NEEDS_QUOTES = /[",\r\n]/;

/** One field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Fields joined into one CSV record (no line terminator): the `raw` text of a rejection. */
export function joinCsvRecord(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}

/**
 * The fields of one CSV record, e.g. a quarantined row's `raw` text after a fix. Text after the first
 * record is an error: a row is one record.
 */
export function splitCsvRecord(raw: string): string[] {
  const result = Papa.parse<string[]>(raw.endsWith('\n') ? raw.replace(/\r?\n$/, '') : raw, {
    delimiter: ',',
    newline: '\n',
  });
  const error = result.errors[0];
  if (error !== undefined) throw new CsvRecordError(`not one CSV record: ${error.message}`, raw);
  if (result.data.length !== 1)
    throw new CsvRecordError(`expected one CSV record, found ${result.data.length}`, raw);
  return result.data[0]!;
}

/** A text that is not exactly one well-formed CSV record. */
export class CsvRecordError extends Error {
  override name = 'CsvRecordError';
  constructor(
    message: string,
    readonly raw: string,
  ) {
    super(message);
  }
}
