/**
 * The independent recomputation (DESIGN.md "Independence"): every mart of CONTRACT.md §2–§3
 * computed again from the raw CSV files with DuckDB, sharing no code with the stream path (no
 * imports from `aggregates/`, `shared/input/`, `ingest/` or `processors/`), so that comparing its
 * marts with a snapshot's checks the whole pipeline.
 */
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ReconcileError } from './errors.js';
import { type InputFile, InputKind, kindColumns, listInputFiles, recogniseHeader } from './files.js';
import {
  defaultMartWindows,
  formatMacrosSql,
  type MartWindows,
  martLayouts,
  martQueries,
  ReconcileMart,
  snapshotOrdersSql,
} from './marts-sql.js';
import {
  fieldMacrosSql,
  rawTablesSql,
  type StagingSettings,
  sqlInteger,
  sqlString,
  stagingSql,
} from './staging-sql.js';

/** The export files a recomputation reads: a folder (as `tillstream run --input` reads it), or a list. */
export type RecomputeSource =
  | {
      /** The folder of exports (recursively), in arrival order by modified time, then path. */ readonly inputDir: string;
    }
  | {
      /**
       * The files in arrival order (`arrival` 0, 1, …); `modifiedMs` is each file's arrival
       * instant, which the future-timestamp and orphan-grace rules measure from.
       */
      readonly files: readonly InputFile[];
    };

export type RecomputeOptions = RecomputeSource & {
  /** Snapshot date `YYYY-MM-DD`: the marts cover the orders whose local date is on or before it. */
  readonly asOf: string;
  readonly settings: StagingSettings;
  /** Mart windows and thresholds. @default the contract's */
  readonly windows?: Partial<MartWindows>;
};

/** A mart as CSV cells: the header, and each row's cells (unquoted; null as '') in key order. */
export interface MartTable {
  readonly name: ReconcileMart;
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A file the recomputation did not read, and why. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/** What the recomputation read: per kind and outcome, the number of rows. */
export interface RecomputeSummary {
  readonly files: number;
  readonly skippedFiles: readonly SkippedFile[];
  /** `order_items` / `order_item_options` → outcome (`accepted`, `duplicate`, a reason …) → rows. */
  readonly rowOutcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly orders: number;
}

export interface Recomputation {
  readonly marts: Readonly<Record<ReconcileMart, MartTable>>;
  readonly summary: RecomputeSummary;
}

/** Header cells of a file are read as up to this many columns. */
const MAX_HEADER_COLUMNS = 512;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

function checkAsOf(asOf: string): void {
  if (!DATE_PATTERN.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))) {
    throw new ReconcileError(`as_of must be a YYYY-MM-DD date (given ${JSON.stringify(asOf)})`, 'asOf');
  }
}

/**
 * The staged input in DuckDB: every file loaded, validated and deduplicated into orders once, so
 * that the marts of an as_of and the aggregates items are all derived from the same staging.
 * Close it when done (it holds an in-memory database).
 */
export class StagedInput {
  private closed = false;

  private constructor(
    /** The DuckDB connection holding the staged tables (`orders`, `order_categories`, …). */
    readonly connection: DuckDBConnection,
    private readonly instance: DuckDBInstance,
    private readonly files: number,
    private readonly skippedFiles: readonly SkippedFile[],
  ) {}

  /**
   * Loads and stages the source's files.
   *
   * @example
   * const staged = await StagedInput.open({ files }, settings);
   * try { const marts = await staged.marts('2023-03-19'); } finally { staged.close(); }
   */
  static async open(source: RecomputeSource, settings: StagingSettings): Promise<StagedInput> {
    const files = 'files' in source ? [...source.files] : await listInputFiles(source.inputDir);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await DuckDBConnection.create(instance);
    try {
      await run(connection, rawTablesSql + fieldMacrosSql + formatMacrosSql, 'setup');
      const skippedFiles: SkippedFile[] = [];
      for (const file of files) {
        const skipped = await loadFile(connection, file);
        if (skipped !== null) skippedFiles.push({ path: file.path, reason: skipped });
      }
      await run(connection, stagingSql(settings), 'staging');
      return new StagedInput(connection, instance, files.length, skippedFiles);
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw error;
    }
  }

  /** Every mart for `asOf`, as CSV cells in key order. */
  async marts(asOf: string, windows?: Partial<MartWindows>): Promise<Record<ReconcileMart, MartTable>> {
    checkAsOf(asOf);
    const queries = martQueries(asOf, { ...defaultMartWindows, ...windows });
    await run(this.connection, snapshotOrdersSql(asOf), 'snapshot');
    const marts = {} as Record<ReconcileMart, MartTable>;
    for (const name of Object.values(ReconcileMart)) {
      const reader = await read(this.connection, queries[name], name);
      const rows = reader.getRowsJS().map((row) => row.map((cell) => (cell === null ? '' : String(cell))));
      marts[name] = { name, ...martLayouts[name], rows };
    }
    return marts;
  }

  /** What was read: per kind and outcome, the number of rows; the orders; the files skipped. */
  async summary(): Promise<RecomputeSummary> {
    const outcomes = await read(
      this.connection,
      'SELECT kind, outcome, count(*) FROM row_outcomes GROUP BY ALL ORDER BY ALL',
      'summary',
    );
    const rowOutcomes: Record<string, Record<string, number>> = {};
    for (const [kind, outcome, count] of outcomes.getRowsJS()) {
      const byOutcome = rowOutcomes[String(kind)] ?? {};
      byOutcome[String(outcome)] = Number(count);
      rowOutcomes[String(kind)] = byOutcome;
    }
    const orders = Number(
      (await read(this.connection, 'SELECT count(*) FROM orders', 'summary')).getRowsJS()[0]?.[0],
    );
    return { files: this.files, skippedFiles: this.skippedFiles, rowOutcomes, orders };
  }

  /** Runs statements on the staged database (a failure names `step`). */
  async run(sql: string, step: string): Promise<void> {
    await run(this.connection, sql, step);
  }

  /** Runs a query on the staged database (a failure names `step`). */
  async read(sql: string, step: string) {
    return read(this.connection, sql, step);
  }

  /** Frees the database. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Every mart for `asOf`, recomputed from the CSV files under `inputDir` (or the `files` given).
 *
 * @example
 * const { marts } = await recomputeMarts({ inputDir: './exports', asOf: '2023-03-19', settings });
 * console.log(marts.loyalty_impact.rows); // [['guest', '', '105', …], ['member', …], ['non_member', …]]
 */
export async function recomputeMarts(options: RecomputeOptions): Promise<Recomputation> {
  checkAsOf(options.asOf);
  const staged = await StagedInput.open(options, options.settings);
  try {
    const marts = await staged.marts(options.asOf, options.windows);
    return { marts, summary: await staged.summary() };
  } finally {
    staged.close();
  }
}

async function run(connection: DuckDBConnection, sql: string, step: string): Promise<void> {
  try {
    await connection.run(sql);
  } catch (error) {
    throw new ReconcileError(`DuckDB failed: ${(error as Error).message}`, step, { cause: error });
  }
}

async function read(connection: DuckDBConnection, sql: string, step: string) {
  try {
    return await connection.runAndReadAll(sql);
  } catch (error) {
    throw new ReconcileError(`DuckDB failed: ${(error as Error).message}`, step, { cause: error });
  }
}

/** RFC 4180 reading options shared by the header and the rows: no sniffing, every field VARCHAR. */
function csvOptions(columnCount: number): string {
  const columns = Array.from({ length: columnCount }, (_, index) => `'c${index}': 'VARCHAR'`).join(', ');
  return `auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${columns}}, encoding = 'utf-8'`;
}

/**
 * Loads one file's rows into the raw table of its kind; returns why it was skipped, or null.
 * Records whose field count differs from the header's are left out and counted as `malformed_row`.
 */
async function loadFile(connection: DuckDBConnection, file: InputFile): Promise<string | null> {
  const source = sqlString(file.absolutePath);
  let header: string[];
  try {
    const reader = await connection.runAndReadAll(
      `SELECT * FROM read_csv(${source}, header = false, ${csvOptions(MAX_HEADER_COLUMNS)},
        null_padding = true, ignore_errors = true, parallel = false) LIMIT 1`,
    );
    const cells = reader.getRowsJS()[0] ?? [];
    const width = cells.findLastIndex((cell) => cell !== null) + 1;
    header = cells.slice(0, width).map((cell) => (cell === null ? '' : String(cell)));
  } catch (error) {
    return `not a CSV file: ${(error as Error).message.split('\n')[0]}`;
  }
  const recognised = header.length > 0 ? recogniseHeader(header) : null;
  if (recognised === null) return 'unknown file kind (header not recognised)';
  const { kind, positions, width } = recognised;
  // A table created from the scan keeps the file's record order in its rowid.
  try {
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE file_rows AS
         SELECT * FROM read_csv(${source}, header = true, ${csvOptions(width)}, store_rejects = true, filename = true)`,
    );
  } catch (error) {
    return `unreadable as CSV: ${(error as Error).message.split('\n')[0]}`;
  }
  await run(
    connection,
    `INSERT INTO input_files VALUES (${sqlInteger(file.arrival)}, ${sqlString(file.path)}, ${sqlInteger(file.modifiedMs)}, ${sqlString(kind)})`,
    file.path,
  );
  const field = (column: string): string => {
    const position = positions[column] ?? -1;
    return position < 0 ? `''` : `coalesce(c${position}, '')`;
  };
  await run(
    connection,
    `INSERT INTO unread_rows SELECT DISTINCT ${sqlString(kind)}, ${sqlInteger(file.arrival)}, line FROM reject_errors;
     DELETE FROM reject_errors; DELETE FROM reject_scans;`,
    file.path,
  );
  const fields = (kindColumns[kind] as readonly string[]).map(field).join(', ');
  const table = {
    [InputKind.OrderItems]: 'raw_items',
    [InputKind.OrderItemOptions]: 'raw_options',
    [InputKind.DateDim]: 'raw_calendar',
    [InputKind.Locations]: 'raw_locations',
  }[kind];
  await run(
    connection,
    `INSERT INTO ${table} SELECT ${sqlInteger(file.arrival)}, rowid + 1, ${fields} FROM file_rows ORDER BY rowid`,
    file.path,
  );
  return null;
}
