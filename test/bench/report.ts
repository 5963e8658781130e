/**
 * The pure parts of `npm run bench`: the stable keys of `bench-results.json`, the machine
 * description, the one table (figure, value, target, baseline, ratio) and the checks that every
 * key is present and every figure a finite number. No I/O: `run.ts` does that.
 */
import type { BenchFigure, BenchReport } from './registry.js';

/** The stages, in the order `npm run bench` runs them. */
export const STAGES = ['parse', 'ingest', 'process', 'compact', 'e2e'] as const;
export type Stage = (typeof STAGES)[number];

/** The keys the stage issues name (#2, #3, #4, #9); a stage may write more. */
export const REQUIRED_KEYS: Readonly<Record<Stage, readonly string[]>> = {
  parse: ['rows', 'rows_per_s', 'peak_rss_mib', 'peak_rss_mib_4x'],
  ingest: ['rows', 'rows_per_s', 'peak_rss_mib', 'peak_rss_mib_4x', 'putrecords_calls_per_1000_rows'],
  process: [
    'fold_records_per_s',
    'writes_per_order',
    'wcu_per_order',
    'naive_writes_per_order',
    'freshness_p50_ms',
    'freshness_p99_ms',
    'e2e_orders_per_s',
    'emulator_updates_per_s',
  ],
  compact: [
    'customers',
    'seconds',
    'peak_rss_mib',
    'duckdb_seconds',
    'ratio_vs_duckdb',
    'stack_customers',
    'stack_seconds',
  ],
  e2e: ['orders', 'npm_start_seconds'],
};

/** `bench-results.json`'s `machine`: what the figures were measured on. */
export interface MachineInfo {
  readonly cores: number;
  /** Total memory, MiB. */
  readonly memory_mib: number;
  /** `process.version`, e.g. `v20.19.5` (a version, the one non-figure besides the labels below). */
  readonly node: string;
  readonly cpu_model: string;
  /** `os.platform()` and `os.arch()`, e.g. `linux x64`. */
  readonly os: string;
  /** One-minute load average when the run started: other work on the machine stretches wall times. */
  readonly load_average_1m: number;
}

/** What `os` and `process` say about the machine (passed in, so describing it is pure). */
export interface MachineFacts {
  readonly cpus: readonly { readonly model: string }[];
  readonly totalMemoryBytes: number;
  readonly nodeVersion: string;
  readonly platform: string;
  readonly arch: string;
  readonly loadAverage: readonly number[];
}

/**
 * The `machine` key of `bench-results.json`.
 *
 * @example
 * describeMachine({ cpus: os.cpus(), totalMemoryBytes: os.totalmem(), nodeVersion: process.version,
 *   platform: os.platform(), arch: os.arch(), loadAverage: os.loadavg() });
 */
export function describeMachine(facts: MachineFacts): MachineInfo {
  return {
    cores: facts.cpus.length,
    memory_mib: Math.round(facts.totalMemoryBytes / 2 ** 20),
    node: facts.nodeVersion,
    cpu_model: facts.cpus[0]?.model.trim() ?? 'unknown',
    os: `${facts.platform} ${facts.arch}`,
    load_average_1m: Number((facts.loadAverage[0] ?? 0).toFixed(2)),
  };
}

/** When and how long each stage ran, and what it ran on (its notes). */
export interface StageRun {
  /** ISO instant the stage started. */
  readonly started_at: string;
  readonly seconds: number;
  readonly notes: readonly string[];
}

/** `bench-results.json`. */
export interface BenchResults {
  readonly machine: MachineInfo;
  /** One entry per stage that ran (in this run or an earlier one whose keys were kept). */
  readonly runs: Readonly<Record<string, StageRun>>;
  readonly [stage: string]: unknown;
}

/** A stage's figures in the printed table. */
export interface TableRow {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly baseline: number | null;
  /** value / baseline; `null` without a (non-zero) baseline. */
  readonly ratio: number | null;
  readonly pass: boolean | null;
}

/** value / baseline, or `null` when there is no baseline or it is 0. */
export function ratio(value: number, baseline: number | null): number | null {
  return baseline === null || baseline === 0 ? null : value / baseline;
}

/**
 * The table rows of one stage: its figures (targets and baselines as the module set them), then a
 * row for every required key the figures do not show, so every stable key is in the table.
 */
export function stageRows(stage: string, report: BenchReport): TableRow[] {
  const rows: TableRow[] = report.figures.map((figure: BenchFigure) => ({
    figure: `${stage}.${figure.figure}`,
    value: figure.value,
    unit: figure.unit,
    target: figure.target,
    baseline: figure.baseline,
    ratio: ratio(figure.value, figure.baseline),
    pass: figure.pass,
  }));
  const shown = new Set(report.figures.map((figure) => figure.figure));
  const required = (REQUIRED_KEYS as Readonly<Record<string, readonly string[]>>)[stage] ?? [];
  for (const key of required) {
    const value = report.results[key];
    if (shown.has(key) || value === undefined) continue;
    rows.push({
      figure: `${stage}.${key}`,
      value,
      unit: '',
      target: '',
      baseline: null,
      ratio: null,
      pass: null,
    });
  }
  return rows;
}

/** A number as the table prints it: thousands separators, 3 decimals at most (1 from 1,000 up), no trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) >= 1000 ? 1 : 3 });
}

/**
 * The one table, as text: `figure | value | target | baseline | ratio | pass`, columns padded.
 *
 * @example
 * console.log(formatTable(rows));
 */
export function formatTable(rows: readonly TableRow[]): string {
  const lines: string[][] = [['figure', 'value', 'target', 'baseline', 'ratio', 'pass']];
  for (const row of rows) {
    const unit = row.unit === '' ? '' : ` ${row.unit}`;
    lines.push([
      row.figure,
      `${formatNumber(row.value)}${unit}`,
      row.target === '' ? '–' : row.target,
      row.baseline === null ? '–' : `${formatNumber(row.baseline)}${unit}`,
      row.ratio === null ? '–' : row.ratio.toFixed(2),
      row.pass === null ? '–' : row.pass ? 'yes' : 'NO',
    ]);
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const text = lines.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join(' | ')
      .trimEnd(),
  );
  text.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-|-'));
  return text.join('\n');
}

/**
 * Merges this run's stage results into the previous file's: stages that ran replace theirs, the
 * others are kept (with their own `runs` entry, so their date stays known); `machine` is this run's.
 */
export function mergeResults(
  previous: Readonly<Record<string, unknown>>,
  machine: MachineInfo,
  stages: Readonly<Record<string, { readonly report: BenchReport; readonly run: StageRun }>>,
): BenchResults {
  const previousRuns =
    typeof previous['runs'] === 'object' && previous['runs'] !== null
      ? (previous['runs'] as Record<string, StageRun>)
      : {};
  const merged: Record<string, unknown> = { ...previous, machine };
  const runs: Record<string, StageRun> = { ...previousRuns };
  for (const [stage, { report, run }] of Object.entries(stages)) {
    merged[stage] = { ...report.results };
    runs[stage] = run;
  }
  merged['runs'] = runs;
  return merged as BenchResults;
}

/** A value as a problem message shows it (`NaN` stays `NaN`, where JSON would say `null`). */
function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/**
 * Everything wrong with a results file: a stage or a required key missing, a stage figure that is
 * not a finite number, a machine field of the wrong type. Empty when the file is complete.
 */
export function resultProblems(results: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const stage of STAGES) {
    const figures = results[stage];
    if (typeof figures !== 'object' || figures === null) {
      problems.push(`${stage}: missing`);
      continue;
    }
    for (const key of REQUIRED_KEYS[stage]) {
      if (!(key in figures)) problems.push(`${stage}.${key}: missing`);
    }
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        problems.push(`${stage}.${key}: ${shown(value)} is not a finite number`);
      }
    }
  }
  const machine = results['machine'];
  if (typeof machine !== 'object' || machine === null) {
    problems.push('machine: missing');
  } else {
    const fields = machine as Record<string, unknown>;
    for (const key of ['cores', 'memory_mib'] as const) {
      const value = fields[key];
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        problems.push(`machine.${key}: ${shown(value)} is not a positive number`);
      }
    }
    if (typeof fields['node'] !== 'string' || !/^v\d+\.\d+\.\d+/.test(fields['node'])) {
      problems.push(`machine.node: ${JSON.stringify(fields['node'])} is not a Node version`);
    }
  }
  return problems;
}

/** Problems in one stage's report before it is written: non-finite results, figures that disagree with them. */
export function reportProblems(stage: string, report: BenchReport): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(report.results)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push(`${stage}.${key}: ${shown(value)} is not a finite number`);
    }
  }
  for (const figure of report.figures) {
    if (!Number.isFinite(figure.value)) problems.push(`${stage}.${figure.figure}: value is not finite`);
    if (figure.baseline !== null && !Number.isFinite(figure.baseline)) {
      problems.push(`${stage}.${figure.figure}: baseline is not finite`);
    }
  }
  return problems;
}
