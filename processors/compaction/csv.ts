/**
 * A mart as CSV (CONTRACT.md §3): RFC 4180 with a header, UTF-8, LF line ends, rows in the mart's
 * key order, booleans `true`/`false`, null as an empty field, money in dollars with 2 decimals,
 * ratios with 6, percentages with 2; a text cell starting with `=`, `+`, `-` or `@` is prefixed
 * with `'` against formula injection (numbers never are).
 */
import {
  type Column,
  ColumnType,
  type Mart,
  PERCENT_DECIMALS,
  RATIO_DECIMALS,
} from '../../aggregates/marts/columns.js';
import { formatDollars, formatFraction } from '../../aggregates/marts/fraction.js';

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@]/;
/** Rows per encoded chunk: bounds the transient strings of a million-row mart. */
const ROWS_PER_CHUNK = 20_000;

/** A field quoted per RFC 4180 when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A text cell made safe for spreadsheets: `'` before a leading `=`, `+`, `-` or `@`.
 *
 * @example guardFormula('=HYPERLINK("x")') // "'=HYPERLINK(\"x\")"
 */
export function guardFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** The CSV text of one cell (unquoted). */
export function csvCell<Row>(column: Column<Row>, row: Row): string {
  switch (column.type) {
    case ColumnType.Text: {
      const value = column.value(row);
      return value === null ? '' : guardFormula(value);
    }
    case ColumnType.Date: {
      return column.value(row) ?? '';
    }
    case ColumnType.Count: {
      const value = column.value(row);
      return value === null ? '' : String(value);
    }
    case ColumnType.Money: {
      const value = column.value(row);
      return value === null ? '' : formatDollars(value);
    }
    case ColumnType.Ratio: {
      const value = column.value(row);
      return value === null ? '' : formatFraction(value, RATIO_DECIMALS);
    }
    case ColumnType.Percent: {
      const value = column.value(row);
      return value === null ? '' : formatFraction(value, PERCENT_DECIMALS);
    }
    case ColumnType.Boolean: {
      const value = column.value(row);
      return value === null ? '' : String(value);
    }
  }
}

/**
 * The mart as CSV bytes.
 *
 * @example
 * const bytes = martToCsv(marts.loyalty_impact); // 'group,customers,…\nguest,,3,…\n…'
 */
export function martToCsv<Row>(mart: Mart<Row>): Buffer {
  const chunks: Buffer[] = [
    Buffer.from(`${mart.columns.map((column) => csvField(column.name)).join(',')}\n`, 'utf8'),
  ];
  let lines: string[] = [];
  for (let index = 0; index < mart.rowCount; index++) {
    const row = mart.row(index);
    lines.push(mart.columns.map((column) => csvField(csvCell(column, row))).join(','));
    if (lines.length === ROWS_PER_CHUNK) {
      chunks.push(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  return Buffer.concat(chunks);
}
