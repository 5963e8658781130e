/**
 * A mart as Parquet (CONTRACT.md §3) with hyparquet-writer (pure JavaScript, so it bundles into a
 * Lambda): money DECIMAL(18,2) on INT64, dates DATE, counts INT64, ratios and percentages DOUBLE,
 * booleans BOOLEAN, text UTF8; every column nullable. Values equal the CSV's: money is rounded to
 * the cent and percentages to 2 decimals exactly as written there; ratios keep full double
 * precision (the CSV shows them with 6 decimals).
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { type Column, ColumnType, type Mart, PERCENT_DECIMALS } from '../../aggregates/marts/columns.js';
import { roundCents, scaledRound, toNumber } from '../../aggregates/marts/fraction.js';
import { dayNumber } from '../../aggregates/time.js';

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];
type ParquetValue = string | number | bigint | boolean | null;

/** Rows per row group: bounds the column buffers of a million-row mart. */
const ROWS_PER_GROUP = 100_000;

/** The Parquet schema element of a mart column. */
export function schemaElement<Row>(column: Column<Row>): SchemaElement {
  const base = { name: column.name, repetition_type: 'OPTIONAL' } as const;
  switch (column.type) {
    case ColumnType.Text:
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case ColumnType.Date:
      return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case ColumnType.Count:
      return { ...base, type: 'INT64' };
    case ColumnType.Money:
      return {
        ...base,
        type: 'INT64',
        converted_type: 'DECIMAL',
        precision: 18,
        scale: 2,
        logical_type: { type: 'DECIMAL', precision: 18, scale: 2 },
      };
    case ColumnType.Ratio:
    case ColumnType.Percent:
      return { ...base, type: 'DOUBLE' };
    case ColumnType.Boolean:
      return { ...base, type: 'BOOLEAN' };
  }
}

/** The Parquet value of one cell. */
export function parquetValue<Row>(column: Column<Row>, row: Row): ParquetValue {
  switch (column.type) {
    case ColumnType.Text:
      return column.value(row);
    case ColumnType.Date: {
      const value = column.value(row);
      return value === null ? null : dayNumber(value);
    }
    case ColumnType.Count: {
      const value = column.value(row);
      return value === null ? null : BigInt(value);
    }
    case ColumnType.Money: {
      const value = column.value(row);
      // The unscaled DECIMAL(18,2) is the amount in cents.
      return value === null ? null : BigInt(roundCents(value));
    }
    case ColumnType.Ratio: {
      const value = column.value(row);
      return value === null ? null : toNumber(value);
    }
    case ColumnType.Percent: {
      const value = column.value(row);
      return value === null ? null : Number(scaledRound(value.num, value.den, PERCENT_DECIMALS)) / 100;
    }
    case ColumnType.Boolean:
      return column.value(row);
  }
}

/**
 * The mart as Parquet bytes.
 *
 * @example
 * const bytes = martToParquet(marts.customer_metrics);
 */
export function martToParquet<Row>(mart: Mart<Row>): Uint8Array {
  const byteWriter = new ByteWriter();
  const schema: SchemaElement[] = [
    { name: 'root', num_children: mart.columns.length },
    ...mart.columns.map((column) => schemaElement(column)),
  ];
  const writer = new ParquetWriter({ writer: byteWriter, schema, createdBy: 'tillstream' });
  for (let start = 0; start < mart.rowCount; start += ROWS_PER_GROUP) {
    const end = Math.min(start + ROWS_PER_GROUP, mart.rowCount);
    const data: ParquetValue[][] = mart.columns.map(() => new Array<ParquetValue>(end - start));
    for (let index = start; index < end; index++) {
      const row = mart.row(index);
      mart.columns.forEach((column, columnIndex) => {
        data[columnIndex]![index - start] = parquetValue(column, row);
      });
    }
    const written = writer.write({
      columnData: mart.columns.map((column, columnIndex) => ({
        name: column.name,
        data: data[columnIndex]!,
      })),
      rowGroupSize: end - start,
    });
    if (written instanceof Promise)
      throw new Error('hyparquet-writer flushed asynchronously to a ByteWriter');
  }
  writer.finish();
  return new Uint8Array(byteWriter.getBuffer());
}
