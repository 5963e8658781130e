/**
 * The column schema of a mart: one description per column that drives both writers (CSV and
 * Parquet), so a column's name, type and rounding are decided in one place (CONTRACT.md §3).
 */
import type { Fraction } from './fraction.js';

/** What a column holds, and so how it is written. */
export const ColumnType = {
  /** Ids, names, categories, periods: CSV text (formula-injection guarded), Parquet UTF8. */
  Text: 'text',
  /** Local date `YYYY-MM-DD`: Parquet DATE. */
  Date: 'date',
  /** A whole number: Parquet INT64. */
  Count: 'count',
  /** Cents (exact, or a fraction rounded half away from zero to the cent): dollars, DECIMAL(18,2). */
  Money: 'money',
  /** A non-money ratio, written with 6 decimals: Parquet DOUBLE. */
  Ratio: 'ratio',
  /** A percentage written with 2 decimals, half away from zero: Parquet DOUBLE of that value. */
  Percent: 'percent',
  /** `true`/`false`: Parquet BOOLEAN. */
  Boolean: 'boolean',
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

/** Digits after the point of ratio and percent columns. */
export const RATIO_DECIMALS = 6;
export const PERCENT_DECIMALS = 2;

/** Money in cents: an exact integer, or an exact fraction of cents (averages, medians, per day). */
export type Cents = number | Fraction;

interface ColumnOf<Type extends ColumnType, Value, Row> {
  readonly name: string;
  readonly type: Type;
  /** The cell of `row`; null is an empty CSV field and a Parquet null. */
  value(row: Row): Value | null;
}

export type TextColumn<Row> = ColumnOf<typeof ColumnType.Text, string, Row>;
export type DateColumn<Row> = ColumnOf<typeof ColumnType.Date, string, Row>;
export type CountColumn<Row> = ColumnOf<typeof ColumnType.Count, number, Row>;
export type MoneyColumn<Row> = ColumnOf<typeof ColumnType.Money, Cents, Row>;
export type RatioColumn<Row> = ColumnOf<typeof ColumnType.Ratio, Fraction, Row>;
export type PercentColumn<Row> = ColumnOf<typeof ColumnType.Percent, Fraction, Row>;
export type BooleanColumn<Row> = ColumnOf<typeof ColumnType.Boolean, boolean, Row>;

export type Column<Row> =
  | TextColumn<Row>
  | DateColumn<Row>
  | CountColumn<Row>
  | MoneyColumn<Row>
  | RatioColumn<Row>
  | PercentColumn<Row>
  | BooleanColumn<Row>;

/** Column builders, so a mart's schema reads as a list of `name: type` pairs. */
export const column = {
  text: <Row>(name: string, value: (row: Row) => string | null): TextColumn<Row> => ({
    name,
    type: ColumnType.Text,
    value,
  }),
  date: <Row>(name: string, value: (row: Row) => string | null): DateColumn<Row> => ({
    name,
    type: ColumnType.Date,
    value,
  }),
  count: <Row>(name: string, value: (row: Row) => number | null): CountColumn<Row> => ({
    name,
    type: ColumnType.Count,
    value,
  }),
  money: <Row>(name: string, value: (row: Row) => Cents | null): MoneyColumn<Row> => ({
    name,
    type: ColumnType.Money,
    value,
  }),
  ratio: <Row>(name: string, value: (row: Row) => Fraction | null): RatioColumn<Row> => ({
    name,
    type: ColumnType.Ratio,
    value,
  }),
  percent: <Row>(name: string, value: (row: Row) => Fraction | null): PercentColumn<Row> => ({
    name,
    type: ColumnType.Percent,
    value,
  }),
  boolean: <Row>(name: string, value: (row: Row) => boolean | null): BooleanColumn<Row> => ({
    name,
    type: ColumnType.Boolean,
    value,
  }),
} as const;

export const MartName = {
  CustomerMetrics: 'customer_metrics',
  SalesTrends: 'sales_trends',
  LoyaltyImpact: 'loyalty_impact',
  LocationPerformance: 'location_performance',
  DiscountEffectiveness: 'discount_effectiveness',
  DiscountBeforeAfter: 'discount_before_after',
} as const;
export type MartName = (typeof MartName)[keyof typeof MartName];

/**
 * A computed mart: typed rows in key order and the schema that writes them. Rows are produced on
 * demand so a mart of a million customers need not hold a million row objects.
 */
export interface Mart<Row> {
  readonly name: MartName;
  /** The columns the rows are sorted by, each compared as UTF-8 bytes (booleans false first). */
  readonly keyColumns: readonly string[];
  readonly columns: readonly Column<Row>[];
  readonly rowCount: number;
  /** The row at `index` (0 ≤ index < rowCount), in key order. */
  row(index: number): Row;
}

/** Every row of a mart, in key order (for tests and small marts). */
export function martRows<Row>(mart: Mart<Row>): Row[] {
  const rows: Row[] = [];
  for (let index = 0; index < mart.rowCount; index++) rows.push(mart.row(index));
  return rows;
}

/** A mart held as an array of rows. */
export function arrayMart<Row>(
  name: MartName,
  keyColumns: readonly string[],
  columns: readonly Column<Row>[],
  rows: readonly Row[],
): Mart<Row> {
  return { name, keyColumns, columns, rowCount: rows.length, row: (index) => rows[index]! };
}

/**
 * Compares strings as their UTF-8 bytes (the order of `RESTAURANT_ID` ties and of every key
 * column). UTF-16 code units order differently only where surrogates meet U+E000–U+FFFF.
 */
export function compareUtf8(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const a = left.charCodeAt(index);
    const b = right.charCodeAt(index);
    if (a === b) continue;
    if (a >= 0xd800 && b >= 0xd800) return utf8Rank(a) - utf8Rank(b);
    return a - b;
  }
  return left.length - right.length;
}

const BEYOND_NATIVE_ORDER = /[\ud800-\uffff]/;

/**
 * Sorts rows by a tuple of string keys, each compared as UTF-8 bytes. When no key holds a code
 * unit from U+D800 up, native string order is byte order, so each row's keys are joined once (NUL
 * sorts before every other character) and compared natively: a million rows sort in about a second.
 */
export function sortByUtf8Keys<Row>(rows: Row[], keysOf: (row: Row) => readonly string[]): Row[] {
  // One joined key per row, its key array dropped at once: a mart can have most of a million rows.
  const joined = new Array<string>(rows.length);
  let plain = true;
  for (let index = 0; index < rows.length; index++) {
    const rowKeys = keysOf(rows[index]!);
    if (plain && !rowKeys.every((key) => !BEYOND_NATIVE_ORDER.test(key) && !key.includes('\0')))
      plain = false;
    joined[index] = rowKeys.join('\0');
  }
  const order = rows.map((_, index) => index);
  if (plain) {
    order.sort((left, right) =>
      joined[left]! < joined[right]! ? -1 : joined[left]! > joined[right]! ? 1 : 0,
    );
  } else {
    const keys = rows.map((row) => keysOf(row));
    order.sort((left, right) => {
      const leftKeys = keys[left]!;
      const rightKeys = keys[right]!;
      for (let index = 0; index < leftKeys.length; index++) {
        const compared = compareUtf8(leftKeys[index]!, rightKeys[index]!);
        if (compared !== 0) return compared;
      }
      return 0;
    });
  }
  return order.map((index) => rows[index]!);
}

/** Surrogates (code points above U+FFFF) sort after U+E000–U+FFFF in UTF-8. */
function utf8Rank(codeUnit: number): number {
  return codeUnit < 0xe000 ? codeUnit + 0x2000 : codeUnit - 0x800;
}
