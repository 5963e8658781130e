/**
 * End to end (issue #9 "Done when"): `tillstream run` over a generated messy chain exports marts
 * that equal, cell by cell, an independent DuckDB recomputation from the raw CSV files; a run over
 * a folder that grew ingests only what is new and ends where a single run over the final folder
 * does; a past as_of leaves later orders out; the Parquet files hold the CSV's values with the
 * contract's types.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChain } from '../../ingest/generator/index.js';
import {
  compareMarts,
  formatDifferences,
  type MartTable,
  type Recomputation,
  ReconcileMart,
  readExportedMarts,
  recomputeMarts,
} from '../../processors/reconcile/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repoRoot, 'shared/cli/tillstream.mjs');

const START = '2023-03-06';
const DAYS = 10;
const FIRST_HALF_DAYS = 5;
/** The last generated local date: every order is on or before it. */
const AS_OF = '2023-03-15';
/** A past snapshot: the orders of the later days are left out. */
const MID_AS_OF = '2023-03-10';

const settings = {
  currency: 'USD',
  testAppPattern: 'DEVELOPMENT',
  defaultTimeZone: 'America/New_York',
  futureToleranceMs: 86_400_000,
  orphanGraceDays: 7,
} as const;

/** Runs the real CLI in a child process with only the settings' defaults (no TILLSTREAM_* from the caller). */
function tillstream(args: readonly string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TILLSTREAM_')) env[name] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`tillstream ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

function expectSameMarts(
  expected: Readonly<Record<ReconcileMart, MartTable>>,
  actual: Readonly<Record<ReconcileMart, MartTable>>,
): void {
  const differences = compareMarts(expected, actual);
  expect(differences, formatDifferences(differences)).toEqual([]);
}

describe('tillstream run, end to end', () => {
  let work: string;
  let fullExport: string;
  let halfExport: string;
  let grownExport: string;
  let midExport: string;
  let halfInput: string;
  let fullInput: string;
  let grownRunOutput: string;
  let recomputedFull: Recomputation;
  let recomputedHalf: Recomputation;
  let recomputedMid: Recomputation;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tillstream-e2e-'));
    const generated = path.join(work, 'generated');
    await generateChain({
      outDir: generated,
      locations: 3,
      days: DAYS,
      seed: 12,
      startDate: START,
      ordersPerLocationDay: 22,
      profile: 'messy',
    });
    const dayFolders = (await readdir(generated, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const referenceFiles = (await readdir(generated, { withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    // Copies get fresh modified times, so later copies arrive later, as in a real shared folder.
    const copyDays = async (to: string, days: readonly string[]): Promise<void> => {
      await mkdir(to, { recursive: true });
      for (const day of days) await cp(path.join(generated, day), path.join(to, day), { recursive: true });
    };
    const copyReference = async (to: string): Promise<void> => {
      await mkdir(to, { recursive: true });
      for (const file of referenceFiles) await cp(path.join(generated, file), path.join(to, file));
    };
    fullInput = path.join(work, 'full');
    await copyReference(fullInput);
    await copyDays(fullInput, dayFolders);
    halfInput = path.join(work, 'half');
    await copyReference(halfInput);
    await copyDays(halfInput, dayFolders.slice(0, FIRST_HALF_DAYS));
    const grownInput = path.join(work, 'grown');
    await copyReference(grownInput);
    await copyDays(grownInput, dayFolders.slice(0, FIRST_HALF_DAYS));

    fullExport = path.join(work, 'export-full');
    halfExport = path.join(work, 'export-half');
    grownExport = path.join(work, 'export-grown');
    midExport = path.join(work, 'export-mid');
    const fullState = path.join(work, 'state-full');
    const grownState = path.join(work, 'state-grown');
    const single = async (): Promise<void> => {
      await tillstream([
        '--fresh',
        '--state-dir',
        fullState,
        'run',
        '--input',
        fullInput,
        '--as-of',
        AS_OF,
        '--export',
        fullExport,
      ]);
      await tillstream([
        '--state-dir',
        fullState,
        'run',
        '--input',
        fullInput,
        '--as-of',
        MID_AS_OF,
        '--export',
        midExport,
      ]);
    };
    const incremental = async (): Promise<void> => {
      await tillstream([
        '--fresh',
        '--state-dir',
        grownState,
        'run',
        '--input',
        grownInput,
        '--as-of',
        AS_OF,
        '--export',
        halfExport,
      ]);
      await copyDays(grownInput, dayFolders.slice(FIRST_HALF_DAYS));
      grownRunOutput = await tillstream([
        '--state-dir',
        grownState,
        'run',
        '--input',
        grownInput,
        '--as-of',
        AS_OF,
        '--export',
        grownExport,
      ]);
    };
    const recompute = async (): Promise<void> => {
      recomputedFull = await recomputeMarts({ inputDir: fullInput, asOf: AS_OF, settings });
      recomputedHalf = await recomputeMarts({ inputDir: halfInput, asOf: AS_OF, settings });
      recomputedMid = await recomputeMarts({ inputDir: fullInput, asOf: MID_AS_OF, settings });
    };
    // Two state directories, two local stacks on their own ports: the runs (and DuckDB) can overlap.
    await Promise.all([single(), incremental(), recompute()]);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('exports the marts that DuckDB recomputes from the raw files, cell by cell', async () => {
    // Prepare
    const { marts, summary } = recomputedFull;

    // Act
    const exported = await readExportedMarts(fullExport);

    // Assess
    expectSameMarts(marts, exported);
    // Seed 12 of the messy profile holds every kind of row the dedupe and validation rules settle.
    const items = summary.rowOutcomes.order_items ?? {};
    const options = summary.rowOutcomes.order_item_options ?? {};
    expect(items.duplicate).toBeGreaterThan(0);
    expect(items.excluded).toBeGreaterThan(0);
    expect(options.orphan_option).toBeGreaterThan(0);
    expect(
      Object.keys(items).filter((outcome) => !['accepted', 'duplicate', 'excluded'].includes(outcome)),
    ).not.toEqual([]);
    expect(marts.customer_metrics.rows.length).toBeGreaterThan(100);
  });

  it('a run over the first half equals the recomputation of the first half', async () => {
    expectSameMarts(recomputedHalf.marts, await readExportedMarts(halfExport));
  });

  it('a second run over the grown folder ingests only the new files and equals a single run', async () => {
    // Prepare
    const single = await readExportedMarts(fullExport);

    // Act
    const grown = await readExportedMarts(grownExport);

    // Assess
    expect(grownRunOutput).toMatch(new RegExp(`ingested ${2 * (DAYS - FIRST_HALF_DAYS)} new file\\(s\\)`));
    expectSameMarts(single, grown);
    expectSameMarts(recomputedFull.marts, grown);
  });

  it('a past as_of leaves the later orders out', async () => {
    // Prepare
    const latest = await readExportedMarts(fullExport);

    // Act
    const past = await readExportedMarts(midExport);

    // Assess
    expectSameMarts(recomputedMid.marts, past);
    const lastOrderDates = past.customer_metrics.rows.map((row) => row[3]!);
    expect(lastOrderDates.every((date) => date <= MID_AS_OF)).toBe(true);
    expect(past.customer_metrics.rows.length).toBeLessThan(latest.customer_metrics.rows.length);
  });

  it('writes Parquet files with the contract types and the CSV values', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await DuckDBConnection.create(instance);
    try {
      const csv = await readExportedMarts(fullExport);
      const expectedTypes: Record<string, string> = {
        customer_id: 'VARCHAR',
        loyalty_member: 'BOOLEAN',
        first_order_date: 'DATE',
        orders: 'BIGINT',
        clv: 'DECIMAL(18,2)',
        clv_percentile: 'DOUBLE',
        r_score: 'BIGINT',
        spend_change_pct: 'DOUBLE',
        is_holiday: 'BOOLEAN',
        revenue: 'DECIMAL(18,2)',
        first_discount_date: 'DATE',
        orders_per_day_before: 'DOUBLE',
      };
      for (const name of Object.values(ReconcileMart)) {
        const file = path.join(fullExport, `${name}.parquet`).replaceAll("'", "''");
        const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
        const types = new Map(described.getRowsJS().map((row) => [String(row[0]), String(row[1])]));
        expect([...types.keys()], name).toEqual(csv[name].columns);
        for (const [column, type] of types) {
          if (expectedTypes[column] !== undefined)
            expect(type, `${name}.${column}`).toBe(expectedTypes[column]);
        }
        // Each Parquet value written back as the CSV writes it: money 2 decimals, ratios 6, percent 2.
        const cells = csv[name].columns.map((column) => {
          const quoted = `"${column.replaceAll('"', '""')}"`;
          const type = types.get(column) ?? '';
          if (type === 'BOOLEAN')
            return `CASE WHEN ${quoted} THEN 'true' WHEN NOT ${quoted} THEN 'false' END`;
          if (type === 'DATE') return `strftime(${quoted}, '%Y-%m-%d')`;
          if (type === 'DOUBLE') {
            const decimals = column === 'spend_change_pct' ? 2 : 6;
            // round() takes halves away from zero, as the CSV writer does (k/512 is an exact tie).
            return `printf('%.${decimals}f', round(${quoted}, ${decimals}))`;
          }
          if (type === 'VARCHAR') {
            return `CASE WHEN regexp_matches(${quoted}, '^[=+\\-@]') THEN '''' || ${quoted} ELSE ${quoted} END`;
          }
          return `CAST(${quoted} AS VARCHAR)`;
        });
        const rows = (
          await connection.runAndReadAll(`SELECT ${cells.join(', ')} FROM read_parquet('${file}')`)
        )
          .getRowsJS()
          .map((row) => row.map((cell) => (cell === null ? '' : String(cell))));
        expect(rows, name).toEqual(csv[name].rows);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
