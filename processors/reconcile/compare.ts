/**
 * Cell-by-cell comparison of marts: the recomputation (expected) against a snapshot's CSV files
 * (actual). Rows are matched by the mart's key columns, so one missing row is one difference, not
 * a shifted remainder.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import type { MartTable } from './engine.js';
import { ReconcileError } from './errors.js';
import { martLayouts, ReconcileMart } from './marts-sql.js';

/** One disagreement: a cell, a row only one side has, a header or the row order. */
export interface MartDifference {
  readonly mart: ReconcileMart;
  /** The row's key cells joined with ` | `, or `(header)` / `(order)`. */
  readonly key: string;
  /** The row's key cells by key column (empty for the header and the order). */
  readonly keyCells: Readonly<Record<string, string>>;
  /** The column, or `(row)` when the whole row is on one side only. */
  readonly column: string;
  readonly expected: string;
  readonly actual: string;
}

/** The cells of a mart CSV file (RFC 4180, header first). */
export function parseMartCsv(name: ReconcileMart, text: string): MartTable {
  const parsed = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true });
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0]!;
    throw new ReconcileError(`unparseable CSV: ${first.message} at row ${first.row}`, name);
  }
  const [columns = [], ...rows] = parsed.data;
  return { name, columns, keyColumns: martLayouts[name].keyColumns, rows };
}

/** Reads `<dir>/<mart>.csv` for every mart (as `tillstream run --export` writes them). */
export async function readExportedMarts(dir: string): Promise<Record<ReconcileMart, MartTable>> {
  const marts = {} as Record<ReconcileMart, MartTable>;
  for (const name of Object.values(ReconcileMart)) {
    const file = path.join(dir, `${name}.csv`);
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw new ReconcileError(`cannot read the exported mart: ${(error as Error).message}`, file, {
        cause: error,
      });
    });
    marts[name] = parseMartCsv(name, text);
  }
  return marts;
}

/**
 * Every difference between two versions of a mart. Rows are matched by key; the row order is
 * compared too (both must list the keys in the same order).
 *
 * @example
 * const differences = compareMart(recomputed.marts.customer_metrics, exported.customer_metrics);
 * // [{ mart: 'customer_metrics', key: 'c-17', column: 'clv', expected: '12.30', actual: '12.03' }]
 */
export function compareMart(expected: MartTable, actual: MartTable): MartDifference[] {
  const mart = expected.name;
  const differences: MartDifference[] = [];
  const expectedHeader = expected.columns.join(',');
  const actualHeader = actual.columns.join(',');
  if (expectedHeader !== actualHeader) {
    differences.push({
      mart,
      key: '(header)',
      keyCells: {},
      column: '(header)',
      expected: expectedHeader,
      actual: actualHeader,
    });
    return differences;
  }
  const keyPositions = expected.keyColumns.map((column) => expected.columns.indexOf(column));
  const keyOf = (row: readonly string[]): string =>
    keyPositions.map((position) => row[position] ?? '').join(' | ');
  const keyCellsOf = (row: readonly string[]): Record<string, string> =>
    Object.fromEntries(expected.keyColumns.map((column, index) => [column, row[keyPositions[index]!] ?? '']));
  const actualByKey = new Map<string, readonly string[]>();
  for (const row of actual.rows) actualByKey.set(keyOf(row), row);
  const expectedKeys = new Set<string>();
  for (const row of expected.rows) {
    const key = keyOf(row);
    expectedKeys.add(key);
    const other = actualByKey.get(key);
    if (other === undefined) {
      differences.push({
        mart,
        key,
        keyCells: keyCellsOf(row),
        column: '(row)',
        expected: row.join(','),
        actual: '(missing)',
      });
      continue;
    }
    expected.columns.forEach((column, position) => {
      const expectedCell = row[position] ?? '';
      const actualCell = other[position] ?? '';
      if (expectedCell !== actualCell) {
        differences.push({
          mart,
          key,
          keyCells: keyCellsOf(row),
          column,
          expected: expectedCell,
          actual: actualCell,
        });
      }
    });
  }
  for (const row of actual.rows) {
    const key = keyOf(row);
    if (!expectedKeys.has(key)) {
      differences.push({
        mart,
        key,
        keyCells: keyCellsOf(row),
        column: '(row)',
        expected: '(missing)',
        actual: row.join(','),
      });
    }
  }
  if (differences.length === 0) {
    const expectedOrder = expected.rows.map(keyOf);
    const actualOrder = actual.rows.map(keyOf);
    const first = expectedOrder.findIndex((key, index) => key !== actualOrder[index]);
    if (first >= 0) {
      differences.push({
        mart,
        key: '(order)',
        keyCells: {},
        column: `row ${first + 1}`,
        expected: expectedOrder[first]!,
        actual: actualOrder[first] ?? '(none)',
      });
    }
  }
  return differences;
}

/** The differences of every mart. */
export function compareMarts(
  expected: Readonly<Record<ReconcileMart, MartTable>>,
  actual: Readonly<Record<ReconcileMart, MartTable>>,
): MartDifference[] {
  return Object.values(ReconcileMart).flatMap((name) => compareMart(expected[name], actual[name]));
}

/** Differences as readable lines, at most `limit` of them, with the count of the rest. */
export function formatDifferences(differences: readonly MartDifference[], limit = 40): string {
  const lines = differences
    .slice(0, limit)
    .map(
      (difference) =>
        `${difference.mart} [${difference.key}] ${difference.column}: expected ${JSON.stringify(difference.expected)}, actual ${JSON.stringify(difference.actual)}`,
    );
  if (differences.length > limit) lines.push(`… and ${differences.length - limit} more`);
  return lines.join('\n');
}
