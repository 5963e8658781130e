import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayMart, ColumnType, column, type Mart, MartName } from '../../../aggregates/marts/columns.js';
import { MartDateError } from '../../../aggregates/marts/errors.js';
import { computeMarts, type Marts } from '../../../aggregates/marts/index.js';
import { martToCsv } from '../../../processors/compaction/csv.js';
import { martToParquet } from '../../../processors/compaction/parquet.js';
import { customerDay, figures, history, locationDay } from './fixtures.js';

const AS_OF = '2023-08-31';

function sampleMarts(): Marts {
  return computeMarts({
    asOf: AS_OF,
    customers: [
      history('=c1', [customerDay('2023-08-01', 1001, { loyaltyOrders: 1 }), customerDay('2023-06-01', 333)]),
      history('c,2', [customerDay('2023-08-30', 250, { locationId: '-loc' })]),
      history('c"3', [customerDay('2023-05-01', 100)]),
      history('c4', [customerDay('2023-02-01', -50)]),
    ],
    locationDays: [
      locationDay('loc-a', '2023-08-01', 1001, {
        discountedOrders: 1,
        discountedNetCents: 1001,
        discountedGrossCents: 1101,
        grossCents: 1101,
        discountCents: 100,
        byCategory: { '@Drinks': figures(1, 1, 1001) },
      }),
      locationDay('-loc', '2023-08-30', 250, { guestOrders: 1, guestNetCents: 5 }),
      locationDay('loc-a', '2023-06-01', 333),
    ],
    holidays: [{ date: '2023-08-01', name: 'Some Day' }],
  });
}

describe('CSV writer', () => {
  it('writes RFC 4180 with LF, formula guards on text only, empty nulls and dollars', () => {
    // Prepare
    interface Row {
      readonly id: string | null;
      readonly cents: number;
      readonly flag: boolean | null;
    }
    const mart = arrayMart<Row>(
      MartName.LoyaltyImpact,
      ['id'],
      [
        column.text<Row>('id', (row) => row.id),
        column.money<Row>('amount', (row) => row.cents),
        column.boolean<Row>('flag', (row) => row.flag),
      ],
      [
        { id: '=SUM(A1)', cents: -5, flag: true },
        { id: 'a,"b"\nc', cents: 1234567, flag: false },
        { id: null, cents: 0, flag: null },
        { id: '+1', cents: -100, flag: true },
        { id: '@x', cents: 1, flag: true },
        { id: '-2', cents: 2, flag: true },
      ],
    );

    // Act
    const text = martToCsv(mart).toString('utf8');

    // Assess
    expect(text).toBe(
      'id,amount,flag\n' +
        "'=SUM(A1),-0.05,true\n" +
        '"a,""b""\nc",12345.67,false\n' +
        ',0.00,\n' +
        "'+1,-1.00,true\n" +
        "'@x,0.01,true\n" +
        "'-2,0.02,true\n",
    );
  });

  it('writes the derived figures of the marts rounded half away from zero', () => {
    const csv = martToCsv(sampleMarts().customer_metrics).toString('utf8');
    const rows = Papa.parse<Record<string, string>>(csv.trimEnd(), { header: true }).data;
    const c1 = rows.find((row) => row['customer_id'] === "'=c1")!;
    expect(c1['clv']).toBe('13.34');
    expect(c1['avg_gap_days']).toBe('61.000000');
    expect(c1['loyalty_member']).toBe('true');
    const c4 = rows.find((row) => row['customer_id'] === 'c4')!;
    expect(c4['clv']).toBe('-0.50');
    expect(c4['r_score']).toBe('');
    expect(c4['rfm_segment']).toBe('Inactive');
    expect(csv.includes('\r')).toBe(false);
  });
});

describe('Parquet writer, read back by DuckDB', () => {
  let dir: string;
  let marts: Marts;
  let instance: DuckDBInstance;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-parquet-'));
    marts = sampleMarts();
    instance = await DuckDBInstance.create(':memory:');
  });
  afterAll(async () => {
    instance?.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  const duckdbType = {
    [ColumnType.Text]: 'VARCHAR',
    [ColumnType.Date]: 'DATE',
    [ColumnType.Count]: 'BIGINT',
    [ColumnType.Money]: 'DECIMAL(18,2)',
    [ColumnType.Ratio]: 'DOUBLE',
    [ColumnType.Percent]: 'DOUBLE',
    [ColumnType.Boolean]: 'BOOLEAN',
  } as const;

  it.each(Object.values(MartName))('%s has the contract types and the CSV values', async (name) => {
    // Prepare
    const mart: Mart<unknown> = marts[name];
    const path = join(dir, `${name}.parquet`);
    await writeFile(path, martToParquet(mart));
    const csvRows = Papa.parse<string[]>(martToCsv(mart).toString('utf8').trimEnd(), { header: false }).data;
    const connection = await instance.connect();

    // Act
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    const read = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path}')`);

    // Assess
    const types = described.getRowObjects().map((row) => [row['column_name'], row['column_type']]);
    expect(types).toEqual(mart.columns.map((column) => [column.name, duckdbType[column.type]]));
    expect(csvRows[0]).toEqual(mart.columns.map((column) => column.name));
    const rows = read.getRows();
    expect(rows.length).toBe(mart.rowCount);
    expect(rows.length).toBeGreaterThan(0);
    rows.forEach((values, rowIndex) => {
      const asCsv = values.map((value, columnIndex) => {
        const columnType = mart.columns[columnIndex]!.type;
        if (value === null) return '';
        if (columnType === ColumnType.Ratio) return (value as number).toFixed(6);
        if (columnType === ColumnType.Percent) return (value as number).toFixed(2);
        if (columnType === ColumnType.Text && /^[=+\-@]/.test(String(value))) return `'${String(value)}`;
        return String(value);
      });
      expect(asCsv).toEqual(csvRows[rowIndex + 1]);
    });
    connection.closeSync();
  });
});

describe('computeMarts', () => {
  it('refuses an as_of that is not a calendar date', () => {
    expect(() => computeMarts({ asOf: '2023-02-30', customers: [], locationDays: [], holidays: [] })).toThrow(
      MartDateError,
    );
  });
});
