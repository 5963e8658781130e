/**
 * Parse benchmark: parse + validate rows/s on one core and peak RSS over a generated order_items
 * file of 1,000,000 rows, peak RSS at 4,000,000 rows (constant memory: within 10 %), and
 * papaparse's own streaming parse of the same file as the baseline. Each parse runs in a child
 * process so its peak RSS (`process.resourceUsage().maxRSS`) is its own.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Papa from 'papaparse';
import { defaults } from '../../shared/config.js';
import { EntryKind, parseExport, validationSettings } from '../../shared/input/index.js';
import type { BenchModule, BenchReport } from './registry.js';

const ROWS = 1_000_000;
const ROWS_4X = 4_000_000;
const TARGET_ROWS_PER_S = 300_000;
const TARGET_PEAK_RSS_MIB = 256;
const CHUNK_BYTES = 64 * 1024;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchDir = join(tmpdir(), 'tillstream-bench-parse');

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';

/** Measured in the child process. */
interface ChildMeasure {
  readonly rows: number;
  readonly valid: number;
  /** Wall-clock seconds of the parse. */
  readonly seconds: number;
  /** CPU seconds (user + system) of the parse: robust against other processes on the machine. */
  readonly cpuSeconds: number;
  readonly peakRssMib: number;
}

/** A deterministic stand-in for the generator: realistic rows in the contract's format. */
async function writeFallbackOrderItems(path: string, rows: number): Promise<void> {
  let state = 0x2545f491;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state % bound;
  };
  const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');
  const locations = Array.from({ length: 40 }, (_, index) => `64d${hex(index * 7919, 5)}a1b2c3d4e5f6a7b8`);
  const apps = ['Web', 'iOS App', 'Android App', 'Kiosk', 'Web', 'iOS App', 'Partner DEVELOPMENT'];
  const categories = [
    'Burgers',
    'Sides',
    'Drinks',
    'Desserts',
    '',
    'Salads',
    'https://menu.example/specials',
  ];
  const items = [
    'Classic Burger',
    '"Burger, Double"',
    'Fries',
    'Cola',
    '"Shake ""Vanilla"""',
    'Caesar Salad',
  ];
  const stream = createWriteStream(path);
  let buffer = `${HEADER}\n`;
  let order = 0;
  let line = 0;
  const start = Date.UTC(2023, 0, 1);
  for (let row = 0; row < rows; row++) {
    if (line === 0 || next(3) === 0) {
      order++;
      line = 0;
    }
    line++;
    const instant = new Date(start + (order % 500_000) * 60_000 + next(60_000)).toISOString();
    const user = next(10) < 3 ? '' : `u${hex(next(200_000), 6)}`;
    const card = user === '' || next(2) === 0 ? '' : `****${String(next(10_000)).padStart(4, '0')}`;
    const cents = 99 + next(2_500);
    buffer +=
      `${apps[next(apps.length)]},${locations[order % locations.length]},${instant},o${hex(order, 8)},${user},${card},` +
      `${next(4) === 0 ? 'TRUE' : 'FALSE'},USD,${line},${categories[next(categories.length)]},` +
      `${items[next(items.length)]},${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')},${1 + next(3)}\n`;
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await once(stream, 'drain');
      buffer = '';
    }
  }
  stream.end(buffer);
  await once(stream, 'finish');
}

/**
 * The order_items file for at least `rows` rows: the project's generator (`ingest/generator/`, one
 * file for the whole run, default profile with its messy rows), or the fallback writer when the
 * generator cannot run. Files are kept in the temp folder between runs.
 */
async function orderItemsFile(rows: number): Promise<{ path: string; source: string; rows: number }> {
  const dir = join(benchDir, `generated_${rows}`);
  const marker = join(dir, 'bench-order-items.json');
  if (existsSync(marker))
    return JSON.parse(readFileSync(marker, 'utf8')) as { path: string; source: string; rows: number };
  try {
    const generator = await import('../../ingest/generator/index.js');
    const locations = 20;
    // The generator's day estimate is within a few percent; 5 % more days makes sure of `rows`.
    const days = Math.ceil(generator.daysForOrderItemRows(rows, { locations }) * 1.05);
    rmSync(dir, { recursive: true, force: true });
    const summary = await generator.generateChain({
      outDir: dir,
      locations,
      days,
      seed: 20_230_814,
      filesPer: generator.FilesPer.Single,
    });
    const file = summary.files.find((name) => name.endsWith('order_items.csv'));
    if (file === undefined || summary.rows.orderItems < rows) {
      throw new Error(`the generator wrote ${summary.rows.orderItems} order_items rows, ${rows} wanted`);
    }
    const generated = {
      path: join(dir, file),
      source: `generator (${locations} locations × ${days} days, default profile)`,
      rows: summary.rows.orderItems,
    };
    writeFileSync(marker, JSON.stringify(generated));
    return generated;
  } catch (error) {
    console.error(`bench parse: generator unavailable (${String(error)}); using the fallback writer`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'fallback_order_items.csv');
    await writeFallbackOrderItems(path, rows);
    const written = { path, source: 'fallback writer (test/bench/parse.ts)', rows };
    writeFileSync(marker, JSON.stringify(written));
    return written;
  }
}

function runChild(mode: 'validate' | 'papaparse', path: string): ChildMeasure {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, 'child', mode, path], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) throw new Error(`bench child ${mode} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ChildMeasure;
}

async function childMain(mode: string, path: string): Promise<void> {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let rows = 0;
  let valid = 0;
  if (mode === 'validate') {
    const parse = parseExport(createReadStream(path, { highWaterMark: CHUNK_BYTES }), {
      file: path,
      settings: validationSettings(defaults),
      arrivedAtMs: Date.UTC(2030, 0, 1),
    });
    for await (const batch of parse) {
      rows += batch.length;
      for (const entry of batch) if (entry.kind === EntryKind.LineItem) valid++;
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      Papa.parse<string[]>(createReadStream(path, { encoding: 'utf8', highWaterMark: CHUNK_BYTES }), {
        chunk: (result) => {
          rows += result.data.length;
        },
        complete: () => resolve(),
        error: (error) => reject(error),
      });
    });
    rows -= 1; // the header
    valid = rows;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // maxRSS is in kibibytes.
  const peakRssMib = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ rows, valid, seconds, cpuSeconds, peakRssMib } satisfies ChildMeasure)}\n`,
  );
}

/** The run with the median wall time of three, with the highest peak RSS of the three. */
function medianRun(mode: 'validate' | 'papaparse', path: string): ChildMeasure {
  const runs = [runChild(mode, path), runChild(mode, path), runChild(mode, path)].sort(
    (a, b) => a.seconds - b.seconds,
  );
  return { ...runs[1]!, peakRssMib: Math.max(...runs.map((run) => run.peakRssMib)) };
}

export const parseBench: BenchModule = {
  name: 'parse',
  async run(): Promise<BenchReport> {
    const small = await orderItemsFile(ROWS);
    const large = await orderItemsFile(ROWS_4X);
    console.error(
      `bench parse: input from the ${small.source}, ${statSync(small.path).size} bytes at ${ROWS} rows`,
    );
    // Three runs each, the median kept: other processes on the machine make single runs noisy.
    const baseline = medianRun('papaparse', small.path);
    const measured = medianRun('validate', small.path);
    const measured4x = medianRun('validate', large.path);
    const rowsPerS = Math.round(measured.rows / measured.seconds);
    const baselineRowsPerS = Math.round(baseline.rows / baseline.seconds);
    const rowsPerCpuS = Math.round(measured.rows / measured.cpuSeconds);
    const growth = measured4x.peakRssMib / measured.peakRssMib;
    return {
      figures: [
        {
          figure: 'rows_per_s',
          value: rowsPerS,
          unit: 'rows/s',
          target: `>= ${TARGET_ROWS_PER_S}`,
          baseline: baselineRowsPerS,
          pass: rowsPerS >= TARGET_ROWS_PER_S,
        },
        {
          // CPU time of the parse process: what one core does, whatever else runs on the machine.
          figure: 'rows_per_cpu_s',
          value: rowsPerCpuS,
          unit: 'rows/s',
          target: `>= ${TARGET_ROWS_PER_S}`,
          baseline: Math.round(baseline.rows / baseline.cpuSeconds),
          pass: rowsPerCpuS >= TARGET_ROWS_PER_S,
        },
        {
          figure: 'peak_rss_mib',
          value: measured.peakRssMib,
          unit: 'MiB',
          target: `< ${TARGET_PEAK_RSS_MIB}`,
          baseline: baseline.peakRssMib,
          pass: measured.peakRssMib < TARGET_PEAK_RSS_MIB,
        },
        {
          figure: 'peak_rss_mib_4x',
          value: measured4x.peakRssMib,
          unit: 'MiB',
          target: `<= ${(measured.peakRssMib * 1.1).toFixed(1)} (1M + 10%)`,
          baseline: measured.peakRssMib,
          pass: growth <= 1.1,
        },
      ],
      results: {
        rows: measured.rows,
        rows_per_s: rowsPerS,
        peak_rss_mib: Number(measured.peakRssMib.toFixed(1)),
        peak_rss_mib_4x: Number(measured4x.peakRssMib.toFixed(1)),
        rows_4x: measured4x.rows,
        rows_per_cpu_s: rowsPerCpuS,
        baseline_papaparse_rows_per_s: baselineRowsPerS,
      },
      notes: [`input: ${small.source}; ${measured.rows} and ${measured4x.rows} rows; median of 3 runs each`],
    };
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly && process.argv[2] === 'child') {
  await childMain(process.argv[3]!, process.argv[4]!);
}
